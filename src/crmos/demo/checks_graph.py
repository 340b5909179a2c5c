"""Scenario checks about profiles and the graph: 2 (promotion suppression), 3 (identity
stitching), 4 (relation inference), 5 (role reinforcement) and 6 (conflict repair)."""

from __future__ import annotations

from sqlalchemy import Connection

from crmos.demo.director import PROMOTION_AUDIENCE
from crmos.demo.judging import Outcome, Seen, failed
from crmos.demo.mismerge import MERGE_ACTOR
from crmos.graph import list_audiences, members, neighbours, node_id, scores_of
from crmos.identity import list_reviews, profile_view
from crmos.store import decisions_of

ROLE_STEP = 0.37
"""The confidence step of the shipped technical-decision-maker rule (the seed's figure)."""


def promotion(seen: Seen, conn: Connection) -> Outcome:
    """2: buyers of the last 48 h leave the running promotion's audience as they buy."""
    name = "Promotion suppression"
    found = [a for a in list_audiences(conn, seen.workspace_id) if a.name == PROMOTION_AUDIENCE]
    where = [seen.api("/api/v1/audiences"), seen.cli("graph audiences list")]
    if not found:
        return failed(
            2, name, "-", where, f"no audience '{PROMOTION_AUDIENCE}'", seen.page("/people")
        )
    audience = found[0]
    where.append(seen.api(f"/api/v1/audiences/{audience.id}/members"))
    listed = members(conn, seen.workspace_id, audience.id, limit=10_000)
    inside = {m["profile_id"] if isinstance(m, dict) else m for m in listed["data"]}
    buyers = {seen.profile(conn, e) for e in seen.marked(2, "track", "Order Completed")}
    viewers = {seen.profile(conn, e) for e in seen.marked(2, "track", "Promotion Viewed")}
    left = [
        p
        for p in buyers
        if p is not None
        and any(d.kind == "audience.leave" for d in decisions_of(conn, seen.workspace_id, p))
    ]
    still = buyers & inside
    # The 360 of a buyer who left shows the audience.leave decision; else the list filtered.
    page = seen.page(f"/profiles/{left[0]}" if left else f"/people?audience={audience.id}")
    # A buyer whose promotion view was never stitched to them (another device, no shared
    # identifier) was never in the audience, so has nothing to leave; a viewer who bought must.
    entered = buyers & viewers
    happened = (
        f"{listed['total']} members of {len(viewers)} viewers; {len(buyers)} recent buyers "
        f"({len(entered)} of them viewers), {len(left)} removed at their purchase "
        f"(decision audience.leave), {len(still)} still inside"
    )
    if not entered or still or not entered <= set(left):
        return failed(2, name, happened, where, "a recent buyer is not out of the audience", page)
    if not inside:
        return failed(2, name, happened, where, "the audience is empty", page)
    return Outcome(2, name, happened, where, True, console=page)


def stitching(seen: Seen, conn: Connection) -> Outcome:
    """3: WeChat, app, POS and call centre become one profile; a stranger merged into it by
    hand is split off again, the merge's evidence and the split's reason kept."""
    name = "Identity stitching"
    introduced = seen.marked(3, "identify")
    profiles = {e["touchpoint"]: seen.profile(conn, e) for e in introduced}
    distinct = {p for p in profiles.values() if p is not None}
    if len(distinct) != 1:
        happened = f"{len(distinct)} profiles for {len(introduced)} touchpoints"
        reason = "the touchpoints were not stitched into one profile"
        return failed(3, name, happened, [], reason, seen.page("/people"))
    profile = next(iter(distinct))
    page = seen.page(f"/profiles/{profile}")
    view = profile_view(conn, seen.workspace_id, profile)
    where = [seen.api(f"/api/v1/profiles/{profile}"), seen.cli(f"identity show {profile}")]
    by_hand = [m for m in view["merges"] if m["actor"] == MERGE_ACTOR]
    split = [m for m in by_hand if m["split_ms"] and m["split_reason"] and m["evidence"]]
    apart = [m for m in split if _live(conn, seen, m["other_id"]) != profile]
    happened = (
        f"{', '.join(sorted(profiles))} -> one profile with {len(view['identifiers'])} "
        f"identifiers, {len(view['merged_ids'])} merges; {len(by_hand)} wrong merge by hand, "
        f"{len(apart)} split off again" + (f" ({split[0]['split_reason']})" if split else "")
    )
    if len(profiles) < 4:
        reason = "fewer than four touchpoints in the world"
        return failed(3, name, happened, where, reason, page)
    if not apart:
        reason = "no wrong merge was split off with its evidence and reason"
        return failed(3, name, happened, where, reason, page)
    return Outcome(3, name, happened, where, True, console=page)


def _live(conn: Connection, seen: Seen, profile_id: str) -> str:
    """The live profile a (possibly merged) profile id resolves to now."""
    return str(profile_view(conn, seen.workspace_id, profile_id)["id"])


def relation(seen: Seen, conn: Connection) -> Outcome:
    """4: co-attendance plus funding news -> a weighted potential_partner edge."""
    name = "Relation inference"
    news = seen.marked(4, "track", "Funding Announced")
    joined = seen.marked(4, "identify")
    companies = {str(e["traits"].get("company", {}).get("id")) for e in joined}
    if not news or len(companies) < 2:
        return failed(4, name, "-", [], "the demo world has no summit story (cast.json)")
    funded = str(news[0]["properties"]["company_id"])
    other = next(c for c in sorted(companies) if c != funded)
    source = node_id("account", funded)
    where = [
        seen.api(f"/api/v1/graph/nodes/{source}/neighbourhood?edge_type=potential_partner"),
        seen.cli(f"graph neighbours {source} --type potential_partner"),
    ]
    page = seen.page(f"/accounts/{funded}")
    edges = list(neighbours(conn, seen.workspace_id, [source], ["potential_partner"], 50))
    weights = {str(r[3]): float(r[2]) for r in edges}
    target = node_id("account", other)
    happened = f"{source} -> {target}: " + (
        f"potential_partner weight {weights[target]:.2f}" if target in weights else "no edge"
    )
    if target not in weights:
        reason = "no potential_partner edge between the accounts"
        return failed(4, name, happened, where, reason, page)
    return Outcome(4, name, happened, where, True, console=page)


def role(seen: Seen, conn: Connection) -> Outcome:
    """5: long API-doc dwells and integration expansions raise the TDM confidence."""
    name = "Role reinforcement"
    people = seen.marked(5, "identify")
    profile = seen.profile(conn, people[0]) if people else None
    if profile is None:
        return failed(5, name, "-", [], "the API-docs reader has no profile")
    where = [
        seen.api(f"/api/v1/graph/profiles/{profile}/scores"),
        seen.cli(f"graph scores {profile}"),
    ]
    page = seen.page(f"/profiles/{profile}")
    scores = {s["name"]: s for s in scores_of(conn, seen.workspace_id, profile)}
    score = scores.get("technical_decision_maker")
    if score is None:
        reason = "technical_decision_maker was never raised"
        return failed(5, name, "no score", where, reason, page)
    happened = (
        f"technical_decision_maker confidence {score['confidence']:.2f} (step {ROLE_STEP}, "
        f"decaying with a 30-day half-life), {len(score['evidence'])} evidence events"
    )
    if score["stored"] < ROLE_STEP - 1e-9:
        return failed(5, name, happened, where, f"raised by less than the {ROLE_STEP} step", page)
    return Outcome(5, name, happened, where, True, console=page)


def conflict(seen: Seen, conn: Connection) -> Outcome:
    """6: one phone number at three companies -> a review ticket, marketing paused."""
    name = "Conflict repair"
    people = seen.marked(6, "identify")
    phones = {e["traits"].get("phone") for e in people} - {None}
    profiles = {p for p in (seen.profile(conn, e) for e in people) if p is not None}
    where = [seen.api("/api/v1/identity/review"), seen.cli("identity review")]
    page = seen.page("/reviews?kind=conflict")
    tickets = [
        r
        for r in list_reviews(conn, seen.workspace_id, limit=500)
        if r["identifier"] and any(str(p).lstrip("+") in r["identifier"] for p in phones)
    ]
    paused = [
        p
        for p in profiles
        if profile_view(conn, seen.workspace_id, p)["flags"]["marketing_suppressed"]
    ]
    happened = (
        f"{len(tickets)} open review ticket(s) for the shared number; marketing paused for "
        f"{len(paused)} of {len(profiles)} profiles"
    )
    if not tickets:
        reason = "no review ticket for the shared phone number"
        return failed(6, name, happened, where, reason, page)
    if len(paused) < len(profiles) or len(profiles) < 3:
        reason = "marketing was not paused for every profile"
        return failed(6, name, happened, where, reason, page)
    return Outcome(6, name, happened, where, True, console=page)
