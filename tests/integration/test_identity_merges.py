"""Explicit merges and splits: decisions with evidence, undone exactly, refused cleanly."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crmos.bootstrap import Container
from crmos.core.errors import NotFound, ValidationError
from crmos.identity import merge_profiles, open_review, profile_of, resolve_review, split_profile
from crmos.store.tables_identity import identity_merges, profiles
from crmos.store.tables_records import audit_log
from tests.integration.identity_support import identify, pid, send, view


def three_people(container: Container) -> tuple[str, str, str, str]:
    """A workspace with Ann (app), Bo (web) and Cy (pos), each with traits and events."""
    ws = container.workspaces.create("acme")[0].id
    send(container, ws, identify("app", user_id="ann", email="ann@example.com", name="Ann"))
    send(container, ws, identify("web", anon="bo-cookie", email="bo@example.com", name="Bo"))
    send(container, ws, identify("web", anon="bo-cookie", plan="pro"))
    send(container, ws, identify("pos", user_id="M1", phone="+49 151 23456789", city="Köln"))
    ann = pid(container, ws, "user_id", "ann")
    bo = pid(container, ws, "anonymous_id", "bo-cookie")
    cy = pid(container, ws, "pos_member_id", "M1")
    assert ann and bo and cy
    return ws, ann, bo, cy


def snapshot(container: Container) -> tuple[object, ...]:
    with container.engine.connect() as conn:
        rows = conn.execute(select(profiles).order_by(profiles.c.id)).all()
        merges = conn.execute(select(func.count()).select_from(identity_merges)).scalar_one()
    return (tuple(tuple(r) for r in rows), merges)


def test_a_merge_is_a_decision_and_its_ids_keep_resolving_to_the_survivor(
    container: Container,
) -> None:
    ws, ann, bo, _ = three_people(container)
    with container.engine.begin() as conn:
        merge_id = merge_profiles(
            conn, ws, ann, bo, reason="same person", evidence={"ticket": "T-1"}, actor="test"
        )
    assert merge_id.startswith("mrg_")
    assert pid(container, ws, "email", "bo@example.com") == ann
    shown = view(container, ws, bo)
    assert shown["id"] == ann and shown["merged_ids"] == [bo]
    assert shown["traits"]["plan"] == "pro" and shown["events"]["count"] == 3
    (merge,) = shown["merges"]
    assert (merge["id"], merge["reason"], merge["actor"]) == (merge_id, "same person", "test")
    assert merge["evidence"] == {"ticket": "T-1"} and merge["active"]
    with container.engine.begin() as conn:
        split_profile(conn, ws, bo, reason="no, two people", actor="test")
        entries = conn.execute(
            select(audit_log.c.action, audit_log.c.subject).order_by(audit_log.c.position)
        ).all()
    assert [tuple(e) for e in entries] == [("identity.merge", ann), ("identity.split", bo)]


def test_a_split_restores_both_profiles_with_their_own_identifiers_events_and_traits(
    container: Container,
) -> None:
    ws, ann, bo, _ = three_people(container)
    before_ann, before_bo = view(container, ws, ann), view(container, ws, bo)
    with container.engine.begin() as conn:
        merge_id = merge_profiles(conn, ws, ann, bo, reason="looked alike", evidence={})
    send(container, ws, identify("web", anon="bo-cookie", plan="team"))  # Bo's, while merged
    send(container, ws, identify("app", user_id="ann", plan="free"))  # Ann's, while merged
    with container.engine.begin() as conn:
        result = split_profile(conn, ws, bo, reason="different people")
    assert (result.merge_id, result.survivor_id, result.restored_id) == (merge_id, ann, bo)
    assert (result.identifiers_restored, result.events_restored) == (2, 3)
    after_ann, after_bo = view(container, ws, ann), view(container, ws, bo)
    assert after_bo["identifiers"] == before_bo["identifiers"]
    assert after_ann["identifiers"] == before_ann["identifiers"]
    assert after_bo["traits"] == before_bo["traits"] | {"plan": "team"}
    assert after_ann["traits"] == before_ann["traits"] | {"plan": "free"}
    assert (after_ann["events"]["count"], after_bo["events"]["count"]) == (2, 3)
    (merge,) = after_bo["merges"]
    assert not merge["active"] and merge["split_reason"] == "different people"
    with container.engine.connect() as conn:
        assert profile_of(conn, ws, "email", "bo@example.com") == bo


def test_splitting_a_nested_merge_gives_back_the_whole_subtree(container: Container) -> None:
    ws, ann, bo, cy = three_people(container)
    with container.engine.begin() as conn:
        merge_profiles(conn, ws, ann, bo, reason="r1", evidence={})
        merge_profiles(conn, ws, cy, ann, reason="r2", evidence={})
    assert pid(container, ws, "email", "bo@example.com") == cy
    with container.engine.begin() as conn:
        split_profile(conn, ws, cy, reason="undo the latest")  # the survivor: its latest merge
    assert pid(container, ws, "email", "bo@example.com") == ann
    assert pid(container, ws, "pos_member_id", "M1") == cy
    assert view(container, ws, ann)["traits"]["name"] == "Bo"  # the latest write of Ann+Bo
    with container.engine.begin() as conn:
        split_profile(conn, ws, ann, reason="undo the first")
    assert pid(container, ws, "email", "bo@example.com") == bo
    assert view(container, ws, ann)["traits"] == {
        "email": "ann@example.com",
        "name": "Ann",
    }


def test_a_split_of_a_profile_that_was_never_merged_is_refused_and_changes_nothing(
    container: Container,
) -> None:
    ws, ann, _, _ = three_people(container)
    before = snapshot(container)
    with pytest.raises(ValidationError, match="was never merged"), container.engine.begin() as conn:
        split_profile(conn, ws, ann, reason="oops")
    with pytest.raises(NotFound), container.engine.begin() as conn:
        split_profile(conn, ws, "prf_missing", reason="oops")
    assert snapshot(container) == before


def test_a_merge_across_workspaces_is_not_found_and_changes_nothing(container: Container) -> None:
    ws, ann, _, _ = three_people(container)
    other = container.workspaces.create("globex")[0].id
    send(container, other, identify("app", user_id="zed"))
    zed = pid(container, other, "user_id", "zed")
    assert zed
    before = snapshot(container)
    with pytest.raises(NotFound, match=zed), container.engine.begin() as conn:
        merge_profiles(conn, ws, ann, zed, reason="cross", evidence={})
    with pytest.raises(NotFound), container.engine.begin() as conn:
        merge_profiles(conn, other, ann, zed, reason="cross", evidence={})
    assert snapshot(container) == before


def test_bad_merges_are_refused_with_the_field_named(container: Container) -> None:
    ws, ann, bo, _ = three_people(container)
    with pytest.raises(ValidationError, match="reason"), container.engine.begin() as conn:
        merge_profiles(conn, ws, ann, bo, reason=" ", evidence={})
    with pytest.raises(ValidationError, match="evidence"), container.engine.begin() as conn:
        merge_profiles(conn, ws, ann, bo, reason="r", evidence={"x": object()})
    with pytest.raises(ValidationError, match="already resolves"), container.engine.begin() as c:
        merge_profiles(c, ws, ann, ann, reason="self", evidence={})


def test_an_approved_match_suggestion_merges_and_a_rejected_one_does_not(
    container: Container,
) -> None:
    ws, ann, bo, cy = three_people(container)
    with container.engine.begin() as conn:
        yes = open_review(conn, ws, "match", [ann, bo], {"name": 0.97}, score=0.97)
        no = open_review(conn, ws, "match", [ann, cy], {"name": 0.71}, score=0.71)
        approved = resolve_review(conn, ws, yes, decision="approve", note="same e-mail owner")
        rejected = resolve_review(conn, ws, no, decision="reject")
    assert approved["status"] == "approved" and approved["evidence"]["merge_id"].startswith("mrg_")
    assert rejected["status"] == "rejected"
    assert pid(container, ws, "anonymous_id", "bo-cookie") == ann
    assert pid(container, ws, "pos_member_id", "M1") == cy
    (merge,) = view(container, ws, ann)["merges"]
    assert merge["actor"] == f"review:{yes}" and merge["evidence"]["score"] == 0.97
    with pytest.raises(ValidationError, match="already approved"), container.engine.begin() as c:
        resolve_review(c, ws, yes, decision="reject")
    with (
        pytest.raises(ValidationError, match="valid: approve, reject"),
        container.engine.begin() as c,
    ):
        resolve_review(c, ws, no, decision="resolve")
