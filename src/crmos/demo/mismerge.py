"""Scenario 3's second half: a wrong merge, made by hand, split again with its reason.

After the four touchpoints of the stitched customer have become one profile, a call-centre
agent merges a stranger into it because the two share a family name and a country. The demo
then splits that merge, as an operator would in the console, stating why. Both go through
identity's public functions (`merge_profiles`, `split_profile`), so the merge keeps its evidence
and the split its reason, and the Customer 360 shows them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from crmos.bootstrap import Container
from crmos.demo.model import Person, World
from crmos.demo.world import scenario_of
from crmos.identity import merge_profiles, profile_of, profile_view, split_profile

STITCHED = 3
MERGE_ACTOR = "crmos demo: call-centre agent"
MERGE_REASONS = {
    True: "same family name in the same country: taken for one caller",
    False: "same country and an unclear line: taken for one caller",
}
SPLIT_ACTOR = "crmos demo: identity operator"
SPLIT_REASON = "two people: different birthdays, phone numbers and e-mail addresses"


def wrong_merge_split(c: Container, workspace_id: str, world: World) -> str | None:
    """Merge a stranger into scenario 3's profile, then split them again; the merge id.

    Idempotent: a profile whose hand merge was already split is left alone. ``None`` when the
    world has no stitched customer or no stranger to mistake for them.
    """
    marked = {
        str(e["traits"]["email"])
        for e in world.events
        if e["type"] == "identify" and "email" in e.get("traits", {}) and scenario_of(e)
    }
    stitched = _stitched(world, marked)
    if stitched is None:
        return None
    with c.engine.begin() as conn:
        profile = profile_of(conn, workspace_id, "email", stitched.email)
        if profile is None or _already_split(profile_view(conn, workspace_id, profile)):
            return None
        stranger = _stranger(conn, workspace_id, world, stitched, profile, marked)
        if stranger is None:
            return None
        other, person = stranger
        evidence = {
            "family_names": [stitched.family, person.family],
            "countries": [stitched.country, person.country],
            "birthdays": [stitched.birthday, person.birthday],
        }
        reason = MERGE_REASONS[stitched.family == person.family]
        merge_id = merge_profiles(
            conn, workspace_id, profile, other, reason=reason, evidence=evidence, actor=MERGE_ACTOR
        )
        split_profile(
            conn, workspace_id, profile, reason=SPLIT_REASON, merge_id=merge_id, actor=SPLIT_ACTOR
        )
    return merge_id


def _stitched(world: World, marked: set[str]) -> Person | None:
    """The person of scenario 3 (the one whose four touchpoints are stitched)."""
    emails = {
        str(e["traits"]["email"])
        for e in world.events
        if e["type"] == "identify" and scenario_of(e) == STITCHED and "email" in e["traits"]
    }
    return next((p for p in world.people if p.email in emails), None)


def _stranger(
    conn: Connection,
    workspace_id: str,
    world: World,
    stitched: Person,
    profile: str,
    marked: set[str],
) -> tuple[str, Person] | None:
    """Someone outside every scenario with a profile of their own: a namesake if there is one,
    else someone from the same country."""
    crowd = [
        p
        for p in world.people
        if p.id != stitched.id and p.email not in marked and p.country == stitched.country
    ]
    crowd.sort(key=lambda p: (p.family != stitched.family, p.id))
    for person in crowd:
        found = profile_of(conn, workspace_id, "email", person.email)
        if found is not None and found != profile:
            return found, person
    return None


def _already_split(view: dict[str, Any]) -> bool:
    """Whether the profile's hand merge was made and split by an earlier demo."""
    return any(m["actor"] == MERGE_ACTOR and m["split_ms"] for m in view["merges"])
