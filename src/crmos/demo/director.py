"""Acting the demo out: set the workspace up, play the world's events in, start the runs.

The order matters and is kept here in one place:

1. the workspace's compliance settings (packs, validators, the complaint team's calendar) and
   the example playbooks go in force before any event flows, so the stream applies them;
2. the world's older history is ingested and the stream drained: the customers now exist;
3. the customers who signed up for the newsletter give marketing consent (through
   compliance's consent function), and the running promotion's audience is defined;
4. the last two days follow: purchases leave the audience as they happen, the third renewal
   view fires its playbook, the complaints start their workflows; a stranger wrongly merged
   into the stitched customer is split off again;
5. the framework-agreement and service-ticket runs start against the simulators;
6. everything that was set going is waited for, by polling with a deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib.resources import files
from typing import Any

import orjson
import yaml

from crmos.bootstrap import Container
from crmos.compliance import consent_history
from crmos.demo.cast import write_cast
from crmos.demo.mismerge import wrong_merge_split
from crmos.demo.world import World, scenario_of
from crmos.graph import create_audience, list_audiences
from crmos.identity import profile_of

HISTORY_CUTOFF = timedelta(days=2)
"""Events older than this before the world's end are ingested before consent and audience."""
PROMOTION_AUDIENCE = "Spring Sale (buyers of the last 48 h removed)"
PROMOTION_CONDITION = (
    '"Promotion Viewed" in events && !("Order Completed" in events '
    '&& now_ms - events["Order Completed"].last_ms < 172800000)'
)
COMPLIANCE = {
    "packs": ["gdpr", "pipl", "lgpd", "ccpa", "dsa"],
    "validators": {"cpf": "br.cpf", "cnpj": "br.cnpj"},
    "locale": "de",
    "teams": {
        "default": {"timezone": "Europe/Berlin", "country": "DE", "subdivision": "BE"},
    },
    "complaint_team": "default",
}
"""The demo workspace's compliance settings: the packs of its customers' regions (DE, CN, BR,
US; the DSA for complaints), CPF/CNPJ checks at intake, a Berlin team answering complaints."""
CONSENT_SCENARIOS = (1, 9)
"""Scenarios whose customers receive marketing e-mail, and so signed up for it."""
RUNS: dict[str, list[dict[str, Any]]] = {
    "framework_agreement": [
        {"customer_id": "acme", "amount": 120_000},
        {"customer_id": "globex", "amount": 60_000},  # over its 50,000 limit: compensates
    ],
    "service_ticket": [
        {"device_id": "dev-1001", "summary": "Unit shuts down under load"},  # known defect
        {"device_id": "dev-1002", "summary": "Spindle vibrates"},  # unknown: engineer
    ],
}
"""The runs of scenarios 7 and 8, by plan name, one input per run."""
ACTOR = "crmos demo"


@dataclass(frozen=True, slots=True)
class Played:
    """What acting the world out did."""

    accepted: int
    duplicates: int
    rejected: int
    runs_started: list[str]
    settled: bool


def configure(
    c: Container, workspace_id: str, downstream: list[dict[str, Any]] | None = None
) -> list[str]:
    """Compliance settings (with the systems erasure must reach) and the example playbooks,
    before any event; the playbook ids published."""
    current = c.compliance.settings.get(workspace_id)
    wanted = current.model_dump() | COMPLIANCE | {"downstream": downstream or []}
    if current.model_dump() != wanted:
        c.compliance.settings.put(workspace_id, wanted, ACTOR)
    return c.playbooks.publish_examples(workspace_id, ACTOR)


def play(
    c: Container,
    workspace_id: str,
    world: World,
    end: datetime,
    deadline_s: float = 120.0,
    say: Callable[[str], None] = lambda _: None,
) -> Played:
    """Ingest the world in two parts around consent and audience, start the runs, wait."""
    write_cast(c.settings.home / "demo", world.events)
    cutoff = (end - HISTORY_CUTOFF).strftime("%Y-%m-%dT%H:%M:%S")
    older = [e for e in world.events if e["timestamp"] < cutoff]
    recent = [e for e in world.events if e["timestamp"] >= cutoff]
    counts = _ingest(c, workspace_id, older)
    drain(c)
    say(f"history up to {cutoff}Z ingested: {counts[0]} new events")
    _grant_consents(c, workspace_id, world.events)
    _promotion_audience(c, workspace_id)
    more = _ingest(c, workspace_id, recent)
    drain(c)
    say(f"the last {HISTORY_CUTOFF.days} days ingested: {more[0]} new events")
    wrong_merge_split(c, workspace_id, world)
    started = start_runs(c, workspace_id)
    settled = settle(c, workspace_id, deadline_s)
    total = [a + b for a, b in zip(counts, more, strict=True)]
    return Played(total[0], total[1], total[2], started, settled)


def _ingest(c: Container, workspace_id: str, events: Sequence[dict[str, Any]]) -> list[int]:
    """Through the intake service, as a file import would: [accepted, duplicates, rejected]."""
    totals = [0, 0, 0]
    lines = [orjson.dumps(event) for event in events]
    for report in c.ingest().ingest_lines(workspace_id, "demo", lines):
        totals[0] += report.accepted
        totals[1] += report.duplicates
        totals[2] += report.rejected
    return totals


def drain(c: Container) -> None:
    """Bring every stream consumer to the end of the log (consumers may write events too)."""
    while c.stream.run_once():
        pass


def _grant_consents(c: Container, workspace_id: str, events: Iterable[dict[str, Any]]) -> None:
    """Marketing e-mail consent for the customers of scenarios 1 and 9 (newsletter sign-up)."""
    emails = {
        str(e["traits"]["email"])
        for e in events
        if e["type"] == "identify"
        and scenario_of(e) in CONSENT_SCENARIOS
        and "email" in e.get("traits", {})
    }
    for email in sorted(emails):
        with c.engine.connect() as conn:
            profile = profile_of(conn, workspace_id, "email", email)
            given = profile is not None and any(
                s.purpose == "marketing" and s.state == "granted"
                for s in consent_history(conn, workspace_id, profile)
            )
        if profile is None or given:
            continue
        c.compliance.consent(
            workspace_id,
            profile,
            purpose="marketing",
            channel="email",
            state="granted",
            source="demo: newsletter sign-up",
        )


def _promotion_audience(c: Container, workspace_id: str) -> None:
    """Scenario 2's running promotion audience, defined once."""
    with c.engine.begin() as conn:
        if any(a.name == PROMOTION_AUDIENCE for a in list_audiences(conn, workspace_id)):
            return
        create_audience(conn, workspace_id, PROMOTION_AUDIENCE, PROMOTION_CONDITION, ACTOR)


def run_plans() -> dict[str, dict[str, Any]]:
    """The run files of scenarios 7 and 8 (package data), by plan name."""
    folder = files("crmos.demo.runs")
    plans = (
        yaml.safe_load(f.read_text("utf-8")) for f in folder.iterdir() if f.name.endswith(".yaml")
    )
    return {plan["name"]: plan for plan in plans}


def start_runs(c: Container, workspace_id: str) -> list[str]:
    """Start scenarios 7 and 8 unless an earlier demo already did; the run ids started."""
    existing = {r.name for r in c.runs.find(workspace_id, limit=500)}
    started = []
    for name, plan in run_plans().items():
        if name in existing:
            continue
        for given in RUNS[name]:
            started.append(c.runs.start(workspace_id, plan | {"input": given}).id)
    return started


def settle(c: Container, workspace_id: str, deadline_s: float) -> bool:
    """Wait until no firing is being launched, no run is still going and no data-subject
    request waits; False when the deadline passed first."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if _settled(c, workspace_id):
            return True
        drain(c)  # runs and erasures write events (tags, letters) the stream must see
        time.sleep(0.1)  # polling the store: the work happens in the engine's threads
    return _settled(c, workspace_id)


def _settled(c: Container, workspace_id: str) -> bool:
    firings = c.playbooks.firings(workspace_id, limit=500)
    if any(f["status"] in ("pending", "starting") for f in firings):
        return False
    if any(not r.terminal for r in c.runs.find(workspace_id, limit=500)):
        return False
    return not any(
        c.compliance.requests(workspace_id, status=status) for status in ("received", "running")
    )
