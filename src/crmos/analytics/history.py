"""A workspace's history as the models read it: each live profile's events, traits and graph
role scores, read through the store's event reader, identity and graph.

Every event the log holds is read (bodies decrypted: purchase amounts and interaction intents
are in them); an event identity has not stitched yet waits for the next refresh.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from crmos.analytics.features import Activity, Profile
from crmos.analytics.messages import Purchases, activity
from crmos.core.clock import now_ms
from crmos.graph import scores_of
from crmos.identity import event_profiles, live_profiles
from crmos.ingest import EventReader
from crmos.store import EventQuery

PAGE = 5_000


@dataclass(frozen=True, slots=True)
class History:
    """Profiles with their activity in time order, and each purchase's currency."""

    profiles: list[Profile]
    currencies: dict[str, str]
    """The currency most of a profile's purchases were in."""
    end_ms: int


def read_history(
    engine: Engine, reader: EventReader, workspace_id: str, purchases: Purchases
) -> History:
    """Everything the models need about ``workspace_id``'s live profiles."""
    end = now_ms()
    by_profile: dict[str, list[Activity]] = defaultdict(list)
    spent: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    after = 0
    with engine.connect() as conn:
        while True:
            events = reader.events(EventQuery(workspace_id, after_seq=after, limit=PAGE))
            if not events:
                break
            after = int(events[-1].seq or after)
            owners = event_profiles(conn, [e.seq for e in events if e.seq is not None])
            for e in events:
                if e.seq not in owners:
                    continue
                root = owners[e.seq][1]
                props = e.body.get("properties") or {}
                ts = int(e.timestamp.timestamp() * 1000)
                act = activity(e.type, e.name, ts, e.touchpoint, props, purchases)
                by_profile[root].append(act)
                if act.name == purchases.event:
                    spent[root][purchases.currency(props)] += 1.0
        profiles = _profiles(conn, workspace_id, by_profile, end)
    currencies = {pid: max(c, key=lambda k: c[k]) for pid, c in spent.items()}
    return History(profiles, currencies, end)


def _profiles(
    conn: Connection, workspace_id: str, by_profile: dict[str, list[Activity]], at_ms: int
) -> list[Profile]:
    live = live_profiles(conn, list(by_profile))
    out = []
    for pid, acts in by_profile.items():
        if pid not in live:  # erased or merged away since the events were read
            continue
        scores = {
            s["name"]: float(s["confidence"]) for s in scores_of(conn, workspace_id, pid, at_ms)
        }
        acts.sort(key=lambda a: a.ts_ms)
        out.append(Profile(pid, acts, live[pid].traits, scores))
    return out
