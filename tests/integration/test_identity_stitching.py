"""Real-time stitching: events that share identifiers become one profile, within limits."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import event, select

from crmos.bootstrap import Container
from crmos.core.event import Event
from crmos.core.settings import IdentitySettings
from crmos.identity import Stitcher, list_reviews, merge_profiles, resolve_review, split_profile
from crmos.identity.config import set_workspace_config
from crmos.identity.views import list_conflicts, list_rejections
from crmos.store import decisions_of, failures
from crmos.store.tables_identity import profile_identifiers
from tests.integration.identity_support import (
    identify,
    live_profiles,
    merge_count,
    pid,
    send,
    track,
    view,
)


def workspace(container: Container, name: str = "acme", **config: object) -> str:
    ws = container.workspaces.create(name)[0].id
    if config:
        with container.engine.begin() as conn:
            set_workspace_config(conn, ws, dict(config))
    return ws


def test_an_event_carrying_identifiers_of_two_profiles_merges_them_as_a_decision(
    container: Container,
) -> None:
    ws = workspace(container)
    send(container, ws, identify("web", anon="cookie-1", email="Alice@Example.com"))
    send(container, ws, identify("app", user_id="u-1", plan="pro"))
    web, app = pid(container, ws, "anonymous_id", "cookie-1"), pid(container, ws, "user_id", "u-1")
    assert web and app and web != app
    send(container, ws, track("app", user_id="u-1", anon="cookie-1"))
    survivor = pid(container, ws, "email", "ALICE@example.com")
    assert survivor == app == pid(container, ws, "anonymous_id", "cookie-1")
    shown = view(container, ws, web)  # the merged-away id resolves to the survivor
    assert shown["id"] == app and shown["requested_id"] == web
    assert shown["merged_ids"] == [web]
    assert shown["traits"] == {"email": "Alice@Example.com", "plan": "pro"}
    (merge,) = shown["merges"]
    assert merge["actor"] == "stream" and merge["other_id"] == web
    assert merge["evidence"]["identifiers"] == {app: "user_id:u-1", web: "anonymous_id:cookie-1"}
    assert merge["evidence"]["event"]["source"] == "app"
    assert shown["events"]["count"] == 3
    with container.engine.connect() as conn:
        (decision,) = decisions_of(conn, ws, app)
    assert (decision.id, decision.kind) == (merge["id"], "identity.merge")
    assert decision.event_ids == (merge["evidence"]["event"]["message_id"],)
    assert decision.version.startswith("sha256:")


def test_a_second_user_id_is_refused_and_recorded_as_a_conflict_with_evidence(
    container: Container,
) -> None:
    ws = workspace(container)
    send(container, ws, identify("app", user_id="u-1", anon="device-1"))
    send(container, ws, identify("app", user_id="u-2", anon="device-1"))
    first, second = pid(container, ws, "user_id", "u-1"), pid(container, ws, "user_id", "u-2")
    assert first and second and first != second
    assert pid(container, ws, "anonymous_id", "device-1") == first
    assert merge_count(container, ws) == 0
    with container.engine.connect() as conn:
        (conflict,) = list_conflicts(conn, ws)
    assert conflict["kind"] == "limit"
    assert conflict["identifier"] == "anonymous_id:device-1"
    assert (conflict["owner_id"], conflict["claimant_id"]) == (first, second)
    assert "user_id:u-2" in conflict["evidence"]["event_identifiers"]


def test_limits_are_configurable_per_workspace_and_custom_types_come_from_traits(
    container: Container,
) -> None:
    ws = workspace(
        container,
        trait_types={"crm_id": "crm_id"},
        limits={"crm_id": 1, "email": 1},
        priority=["crm_id", "user_id", "email"],
    )
    send(container, ws, identify("crm", anon="r1", email="a@example.com", crm_id="C-1"))
    send(container, ws, identify("crm", anon="r2", email="b@example.com", crm_id="C-1"))
    owner = pid(container, ws, "crm_id", "C-1")
    assert owner == pid(container, ws, "email", "a@example.com")
    # The strongest identifier (crm_id) decides; a second e-mail would break its limit.
    assert pid(container, ws, "email", "b@example.com") is None
    assert pid(container, ws, "anonymous_id", "r2") == owner
    with container.engine.connect() as conn:
        (conflict,) = list_conflicts(conn, ws)
    assert (conflict["kind"], conflict["identifier"]) == ("limit", "email:b@example.com")
    assert conflict["evidence"]["limit"] == 1


def test_malformed_identifiers_are_kept_as_rejections_with_the_reason_never_guessed(
    container: Container,
) -> None:
    ws = workspace(container)
    send(container, ws, identify("web", anon="c-1", email="not-an-email", phone="0151 23456789"))
    with container.engine.connect() as conn:
        rejected = {r["path"]: r for r in list_rejections(conn, ws)}
    assert set(rejected) == {"traits.email", "traits.phone"}
    assert "not an e-mail address" in rejected["traits.email"]["reason"]
    assert "no default region" in rejected["traits.phone"]["reason"]
    assert rejected["traits.phone"]["value"] == "0151 23456789"
    assert pid(container, ws, "anonymous_id", "c-1") is not None


def test_the_workspace_default_region_turns_national_numbers_into_e164(
    container: Container,
) -> None:
    ws = workspace(container, default_region="DE")
    send(container, ws, identify("call_centre", anon="c-1", phone="0151 23456789"))
    assert pid(container, ws, "phone", "+49 151 23456789") == pid(
        container, ws, "anonymous_id", "c-1"
    )


def test_scenario_3_wechat_app_call_centre_and_pos_become_one_profile(
    container: Container,
) -> None:
    ws = workspace(container)
    phone = "+86 138 0013 8000"
    send(container, ws, identify("wechat", anon="oWx1234567890", wechat_openid="oWx1234567890"))
    send(
        container, ws, identify("app", user_id="U100", anon="dev-9", email="li@qq.com", phone=phone)
    )
    send(container, ws, identify("pos", user_id="M777", pos_member_id="M777", phone=phone))
    send(container, ws, identify("call_centre", user_id="+8613800138000", email="li@qq.com"))
    send(container, ws, identify("wechat", anon="oWx1234567890", phone=phone))
    assert live_profiles(container, ws) == 1
    shown = view(container, ws, str(pid(container, ws, "pos_member_id", "M777")))
    kinds = {(i["type"], i["value"]) for i in shown["identifiers"]}
    assert {("phone", "+8613800138000"), ("user_id", "U100"), ("email", "li@qq.com")} <= kinds
    assert {i["source"] for i in shown["identifiers"]} == {"wechat", "app", "pos"}
    assert len(shown["merges"]) == 1  # wechat joined the rest through the phone number


def test_scenario_6_a_phone_claimed_by_three_companies_opens_a_ticket_and_pauses_marketing(
    container: Container,
) -> None:
    ws = workspace(container)
    phone = "+86 138 0013 8000"
    for n, source in enumerate(("call_centre", "app", "pos"), start=1):
        company = {"id": f"company-{n}", "name": f"Firm {n}"}
        send(
            container,
            ws,
            identify(source, user_id=f"p{n}", email=f"p{n}@x.cn", phone=phone, company=company),
        )
    people = [pid(container, ws, "email", f"p{n}@x.cn") for n in (1, 2, 3)]
    assert len(set(people)) == 3  # never fused across companies
    with container.engine.connect() as conn:
        (ticket,) = list_reviews(conn, ws, kind="conflict")
    assert ticket["identifier"] == "phone:+8613800138000"
    assert set(ticket["subject_profiles"]) == set(people)
    assert ticket["evidence"]["accounts"] == ["company-1", "company-2", "company-3"]
    assert ticket["evidence"]["sources"] == ["app", "call_centre", "pos"]
    for person in people:
        flags = view(container, ws, str(person))["flags"]
        assert flags == {"marketing_suppressed": True, "open_reviews": [ticket["id"]]}
    with container.engine.connect() as conn:
        decisions = [d for p in people for d in decisions_of(conn, ws, p)]
    (decision,) = [d for d in decisions if d.kind == "identity.conflict_review"]
    assert decision.actions[0] == {"action": "open_review", "review_id": ticket["id"]}
    with container.engine.begin() as conn:
        resolve_review(conn, ws, ticket["id"], decision="resolve", note="shared switchboard")
    assert not any(view(container, ws, str(p))["flags"]["marketing_suppressed"] for p in people)
    again = identify("app", user_id="p2", phone=phone, company={"id": "company-2"})
    send(container, ws, again)  # no new account: the resolved ticket stays resolved
    with container.engine.connect() as conn:
        assert list_reviews(conn, ws, kind="conflict") == []


def test_merges_and_splits_made_elsewhere_are_seen_by_the_stitcher_at_once(
    container: Container,
) -> None:
    ws = workspace(container)
    send(container, ws, identify("app", user_id="u-1"), identify("web", anon="cookie-1"))
    app, web = pid(container, ws, "user_id", "u-1"), pid(container, ws, "anonymous_id", "cookie-1")
    assert app and web
    with container.engine.begin() as conn:
        merge_profiles(conn, ws, app, web, reason="same person", evidence={"by": "test"})
    send(container, ws, identify("web", anon="cookie-1", name="Ann"))
    assert view(container, ws, app)["traits"] == {"name": "Ann"}
    with container.engine.begin() as conn:
        split_profile(conn, ws, web, reason="not the same person after all")
    send(container, ws, identify("web", anon="cookie-1", email="ann@example.com"))
    assert pid(container, ws, "email", "ann@example.com") == web
    assert view(container, ws, web)["traits"] == {"name": "Ann", "email": "ann@example.com"}
    assert view(container, ws, app)["traits"] == {}


def test_a_batch_whose_transaction_rolled_back_is_stitched_again_from_scratch(
    container: Container,
) -> None:
    ws = workspace(container)
    now = datetime.now(UTC)
    body = {"type": "identify", "traits": {"email": "a@example.com"}}
    event = Event(ws, "m-1", "identify", "u-1", None, None, now, now, "app", body, 10**9)
    stitcher = Stitcher(IdentitySettings())
    with container.engine.connect() as conn:
        tx = conn.begin()
        stitcher.handle(conn, [event])
        tx.rollback()
    stitcher.rolled_back()  # as the stream runner settles every transaction (one replay rule)
    with container.engine.begin() as conn:
        stitcher.handle(conn, [event])
    with container.engine.connect() as conn:
        rows = conn.execute(select(profile_identifiers.c.type)).scalars().all()
    assert sorted(rows) == ["email", "user_id"]
    assert pid(container, ws, "email", "a@example.com") == pid(container, ws, "user_id", "u-1")


def test_alias_and_group_calls_link_ids_and_set_the_company(container: Container) -> None:
    ws = workspace(container)
    send(container, ws, track("web", anon="cookie-7"))
    alias = {
        "type": "alias",
        "userId": "u-7",
        "previousId": "cookie-7",
        "context": {"touchpoint": "web"},
    }
    group = {"type": "group", "userId": "u-7", "groupId": "acme-co", "traits": {"name": "Acme"}}
    send(container, ws, alias, group)
    shown = view(container, ws, str(pid(container, ws, "anonymous_id", "cookie-7")))
    assert {i["type"] for i in shown["identifiers"]} == {"anonymous_id", "user_id"}
    assert shown["traits"]["company"] == {"name": "Acme", "id": "acme-co"}


def test_traits_follow_source_precedence_then_the_latest_write(container: Container) -> None:
    ws = workspace(container, source_precedence=["crm"])

    def said(source: str, at: str, name: str) -> dict[str, object]:
        return identify(source, user_id="u-1", name=name) | {"timestamp": at}

    send(container, ws, said("app", "2026-01-02T00:00:00Z", "app name"))
    send(container, ws, said("crm", "2026-01-01T00:00:00Z", "crm name"))
    send(container, ws, said("app", "2026-01-03T00:00:00Z", "later app name"))
    shown = view(container, ws, str(pid(container, ws, "user_id", "u-1")))
    assert shown["traits"]["name"] == "crm name"
    assert shown["trait_sources"]["name"]["source"] == "crm"
    send(container, ws, said("crm", "2025-12-31T00:00:00Z", "older crm name"))
    assert view(container, ws, shown["id"])["traits"]["name"] == "crm name"
    history = view(container, ws, shown["id"])["trait_history"]
    assert [h["traits"]["name"] for h in history] == [
        "older crm name",
        "later app name",
        "crm name",
        "app name",
    ]


def test_a_stitcher_with_a_small_cache_forgets_and_rereads_without_changing_the_outcome(
    container: Container,
) -> None:
    ws = workspace(container)
    now = datetime.now(UTC)
    stitcher = Stitcher(IdentitySettings(cache_identifiers=1000))

    def event(seq: int, **ids: str) -> Event:
        body = {"type": "identify", "traits": {"email": f"p{seq % 900}@example.com"}}
        return Event(
            ws,
            f"m{seq}",
            "identify",
            ids.get("user"),
            ids.get("anon"),
            None,
            now,
            now,
            "app",
            body,
            seq,
        )

    first = [event(n, user=f"u{n}") for n in range(1, 901)]  # 1,800 identifiers
    later = [event(900 + n, anon=f"a{n}") for n in range(1, 901)]  # joins by e-mail
    for batch in (first[:450], first[450:], later[:450], later[450:]):
        with container.engine.begin() as conn:
            stitcher.handle(conn, batch)
    assert live_profiles(container, ws) == 900
    assert pid(container, ws, "anonymous_id", "a1") == pid(container, ws, "user_id", "u1")
    assert pid(container, ws, "anonymous_id", "a899") == pid(container, ws, "user_id", "u899")


def test_identifiers_another_process_attached_are_found_after_the_store_refuses_a_duplicate(
    container: Container,
) -> None:
    ws = workspace(container)
    send(container, ws, identify("app", user_id="u-1"))
    now = datetime.now(UTC)
    body = {"type": "identify", "traits": {"email": "x@example.com"}}
    elsewhere = Event(ws, "m-x", "identify", None, "a-x", None, now, now, "crm", body, 10**9)
    with container.engine.begin() as conn:  # a second stitcher, as another process would run
        Stitcher(IdentitySettings()).handle(conn, [elsewhere])
    send(container, ws, identify("app", user_id="u-1", email="x@example.com"))
    assert pid(container, ws, "anonymous_id", "a-x") == pid(container, ws, "user_id", "u-1")
    with container.engine.connect() as conn:
        assert failures(conn, "identity") == []


def test_a_stitcher_that_saw_a_workspace_from_its_start_looks_up_no_identifier_it_lacks(
    container: Container,
) -> None:
    ws = workspace(container)
    lookups: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if "FROM profile_identifiers AS i" in statement:
            lookups.append(statement)

    event.listen(container.engine, "before_cursor_execute", count)
    try:
        send(container, ws, identify("app", user_id="u-1", email="a@example.com"))
        send(
            container,
            ws,
            identify("web", anon="c-1", email="A@example.com", phone="+4915112345678"),
        )
        assert lookups == []  # every identifier the workspace has, this stitcher made
        assert pid(container, ws, "anonymous_id", "c-1") == pid(container, ws, "user_id", "u-1")
        with container.engine.begin() as conn:  # a new stitcher (a restart) must read the store
            Stitcher(IdentitySettings()).handle(conn, [_identify_event(ws, "c-9", "a@example.com")])
        assert lookups
        lookups.clear()
        send(container, ws, identify("web", anon="c-9", plan="pro"))
        assert lookups  # the restart moved the epoch: this stitcher's cache is not trusted
        assert pid(container, ws, "anonymous_id", "c-9") == pid(container, ws, "user_id", "u-1")
        with container.engine.connect() as conn:
            assert failures(conn, "identity") == []
    finally:
        event.remove(container.engine, "before_cursor_execute", count)


def _identify_event(ws: str, anon: str, email: str) -> Event:
    now = datetime.now(UTC)
    body = {"type": "identify", "traits": {"email": email}}
    return Event(ws, f"m-{anon}", "identify", None, anon, None, now, now, "crm", body, 10**9)
