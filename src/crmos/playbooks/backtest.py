"""Dry-run / backtest: replay stored events through a playbook's trigger, without side effects.

Nothing is written: no state, no firing, no Decision, no run. The audience filter and the
experiment split apply as they would live; consent is not checked (checking it records
Decisions), which the report says. Conditions that read ``graph`` see today's graph facts (the
graph keeps no history to replay).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from crmos.core.event import Event
from crmos.ingest import EventReader
from crmos.playbooks.components import ComponentRegistry
from crmos.playbooks.firing import judge
from crmos.playbooks.profiles import ProfileFacts, activation, profiles_of, ts_ms
from crmos.playbooks.spec import Playbook
from crmos.playbooks.trigger_consumer import evaluator_of
from crmos.store import EventQuery
from crmos.triggers import Evaluator, EventView, Firing

PAGE = 1000


@dataclass(slots=True)
class Backtest:
    """How often a playbook would have fired, for whom, per variant and outcome."""

    playbook_id: str
    version: str
    events_scanned: int = 0
    fired: int = 0
    profiles: Counter[str] = field(default_factory=Counter)
    variants: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    samples: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "playbook_id": self.playbook_id,
            "version": self.version,
            "events_scanned": self.events_scanned,
            "fired": self.fired,
            "profiles": dict(self.profiles.most_common(50)),
            "variants": dict(self.variants),
            "outcomes": dict(self.outcomes),
            "samples": self.samples[:20],
            "note": "consent is not checked in a dry-run",
        }


def backtest(
    playbook: Playbook,
    registry: ComponentRegistry,
    batches: Iterable[list[tuple[Event, ProfileFacts]]],
    graph: Callable[[str], dict[str, Any]] | None = None,
) -> Backtest:
    """Replay ``batches`` of (event, profile) through ``playbook``'s trigger; ``graph`` gives
    a profile's graph facts when the playbook's conditions read them."""
    report = Backtest(playbook.id, playbook.hash)
    evaluator = evaluator_of([playbook])
    timers: dict[tuple[str, str], int] = {}
    for batch in batches:
        for event, facts in batch:
            now = ts_ms(event)
            _due(evaluator, timers, now, playbook, registry, report)
            act = activation(event, facts, graph(facts.id) if graph is not None else None)
            view = EventView(event.message_id, event.name, event.type, now)
            for firing in evaluator.observe(facts.id, view, act):
                _count(report, playbook, registry, firing, act)
            for key, due in evaluator.timers.items():
                if due is None:
                    timers.pop(key, None)
                else:
                    timers[key] = due
            evaluator.timers.clear()
            report.events_scanned += 1
    return report


def _due(
    evaluator: Evaluator,
    timers: dict[tuple[str, str], int],
    now: int,
    playbook: Playbook,
    registry: ComponentRegistry,
    report: Backtest,
) -> None:
    for key, due in sorted(timers.items(), key=lambda kv: kv[1]):
        if due > now:
            continue
        del timers[key]
        firing = evaluator.fire_timer(key[0], key[1], now)
        if firing is not None:
            _count(report, playbook, registry, firing, {"profile": {"id": key[1]}})


def _count(
    report: Backtest,
    playbook: Playbook,
    registry: ComponentRegistry,
    firing: Firing,
    act: dict[str, Any],
) -> None:
    verdict = judge(playbook, firing, act, registry, None)
    report.fired += 1
    report.profiles[firing.profile_id] += 1
    report.variants[verdict.variant or "(no experiment)"] += 1
    report.outcomes[verdict.status] += 1
    if len(report.samples) < 20:
        report.samples.append(
            {
                "profile_id": firing.profile_id,
                "event_id": firing.event_id,
                "at_ms": firing.at_ms,
                "variant": verdict.variant,
                "status": verdict.status,
            }
        )


def stored_batches(
    reader: EventReader, conn: Connection, workspace_id: str, since_ms: int
) -> Iterable[list[tuple[Event, ProfileFacts]]]:
    """The workspace's stored events since ``since_ms``, with their profiles, page by page."""
    after = 0
    while True:
        events = reader.events(EventQuery(workspace_id, after_seq=after, limit=PAGE))
        if not events:
            return
        after = max(e.seq or 0 for e in events)
        recent = [e for e in events if ts_ms(e) >= since_ms]
        facts = profiles_of(conn, recent)
        yield [(e, facts[e.seq]) for e in recent if e.seq in facts]
