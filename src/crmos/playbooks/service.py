"""What the API, the CLI and the composition root do with playbooks.

Validate, publish, show what was in force, diff, roll back; list firings and approve them;
dry-run over stored events; and the runtime pieces the composition root wires in: the trigger
consumer, the launcher, the components as sagas actions, and the timer thread.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable, Sequence
from importlib.resources import files
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, insert, select, update

from crmos.core.clock import now_ms
from crmos.core.errors import ConfigError, Conflict, NotFound
from crmos.core.periodic import Periodic
from crmos.core.settings import Settings
from crmos.identity import profile_view
from crmos.ingest import EventReader
from crmos.playbooks import versions
from crmos.playbooks.backtest import Backtest, backtest, stored_batches
from crmos.playbooks.components import (
    ComponentAction,
    ComponentRegistry,
    Ports,
    Refusal,
    Violation,
)
from crmos.playbooks.experiment import (
    ExperimentResult,
    assignments,
    compare,
    converted_profiles,
)
from crmos.playbooks.firing import ConsentCheck
from crmos.playbooks.launcher import FindRun, Launcher, StartedRun, StartRun
from crmos.playbooks.market import Marketplace
from crmos.playbooks.profiles import graph_facts
from crmos.playbooks.sandbox_pool import Pool, Spec
from crmos.playbooks.sandbox_records import record_violation
from crmos.playbooks.sandboxed import SandboxedAction, sandboxed_class, spec_of, store_dirs
from crmos.playbooks.spec import Playbook, parse
from crmos.playbooks.trigger_consumer import TriggerConsumer, reads_graph
from crmos.store import EventLog, append_audit
from crmos.store.tables_playbooks import component_refusals, playbook_firings

DAY_MS = 86_400_000
EXPERIMENT_FIRINGS = 20_000  # the newest firings an experiment's results count
Intake = Callable[[str, dict[str, Any]], None]  # (workspace, Segment message)


class Playbooks:
    """Playbooks of every workspace; each method takes the caller's workspace and stays in it."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        registry: ComponentRegistry,
        source: tuple[EventLog, EventReader],
        consent: ConsentCheck | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.settings = settings
        self.log, self.reader = source
        self.engine = engine
        self.registry = registry
        self.clock = clock
        self.retention_ms = settings.playbooks.retention_days * DAY_MS
        workers = settings.playbooks.launch_workers
        self.launcher = Launcher(engine, self._start_run, self._find_run, clock, workers)
        self.consumer = TriggerConsumer(
            registry, self.retention_ms, clock, consent, launch=self.launcher.launch_ids
        )
        self._start: StartRun | None = None
        self._find: FindRun | None = None
        self._timers = Periodic("crmos-timers", settings.playbooks.timer_poll_s, self.tick)
        self.pool = Pool(settings.playbooks.sandbox_children)
        self.market = Marketplace(settings, engine, registry, clock)
        self._specs: dict[str, Spec] = {}

    # -- wiring ------------------------------------------------------------------------------

    def connect(self, start_run: StartRun, find_run: FindRun | None = None) -> None:
        """Give the launcher the sagas engine's way to start a run (with its origin), and to
        find the run an origin started (kept from an earlier call when not given)."""
        self._start = start_run
        self._find = find_run or self._find

    def _start_run(self, workspace_id: str, request: dict[str, Any], origin: str) -> str:
        if self._start is None:
            raise ConfigError("playbooks", "no run engine connected; call connect() at startup")
        return self._start(workspace_id, request, origin)

    def _find_run(self, workspace_id: str, origin: str) -> StartedRun | None:
        if self._find is None:
            raise ConfigError("playbooks", "no run engine connected; call connect() at startup")
        return self._find(workspace_id, origin)

    def actions(
        self, action: Callable[[str], Any], intake: Intake | None = None
    ) -> Sequence[ComponentAction | SandboxedAction]:
        """Every component as a sagas action, run in a sandbox child process (in-process only
        where ``playbooks.sandbox`` is off), through ports built here."""
        ports = Ports(
            profile=self._profile,
            action=action,
            refused=self._refused,
            base_urls=dict(self.settings.connectors.base_urls),
            tag=None if intake is None else self._tagger(intake),
            violated=self._violated,
        )
        if not self.settings.playbooks.sandbox:
            return list(self.registry.actions(ports))
        deny = (str(self.settings.home), *store_dirs(self.engine))
        components = [self.registry.get(n) for n in self.registry.names()]
        self._specs = {c.name: spec_of(c, ports, deny) for c in components}
        return [sandboxed_class(c)(c, ports, self.pool, self._specs[c.name]) for c in components]

    def start_sandbox(self) -> None:
        """Start the sandbox's zygote now, so the first component call finds it ready."""
        if self.settings.playbooks.sandbox:
            self.pool.prestart()

    def warm_sandbox(self, names: Iterable[str] | None = None) -> None:
        """Start a sandbox child for each component (every one by default) ahead of its first
        call, which otherwise waits for the child's interpreter to start."""
        wanted = self._specs if names is None else {n: self._specs[n] for n in names}
        self.pool.warm(wanted.values())

    def _profile(self, workspace_id: str | None, profile_id: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return profile_view(conn, workspace_id or "", profile_id)

    def _refused(self, refusal: Refusal) -> None:
        with self.engine.begin() as conn:
            row = {
                "workspace_id": refusal.workspace_id,
                "run_id": refusal.run_id,
                "component": refusal.component,
                "host": refusal.host,
                "at_ms": self.clock(),
            }
            conn.execute(insert(component_refusals).values(**row))
            if refusal.workspace_id:
                details = {"component": refusal.component, "host": refusal.host}
                action = "component.host_refused"
                append_audit(
                    conn, refusal.workspace_id, refusal.component, action, refusal.run_id, details
                )

    def _violated(self, violation: Violation) -> None:
        if violation.workspace_id:
            with self.engine.begin() as conn:
                record_violation(conn, violation, self.registry.version(violation.component))

    def _tagger(self, intake: Intake) -> Callable[[str | None, str, dict[str, Any], str], None]:
        def tag(
            workspace_id: str | None, profile_id: str, traits: dict[str, Any], key: str
        ) -> None:
            view = self._profile(workspace_id, profile_id)
            ids = {i["type"]: i["value"] for i in view["identifiers"]}
            who = (
                {"userId": ids["user_id"]}
                if "user_id" in ids
                else {"anonymousId": ids.get("anonymous_id")}
            )
            if not any(who.values()):
                raise NotFound("user or anonymous id of profile", profile_id)
            message_id = "tag-" + hashlib.sha256(key.encode()).hexdigest()[:32]
            intake(
                workspace_id or "",
                {"type": "identify", "messageId": message_id, "traits": traits, **who},
            )

        return tag

    # -- timers ------------------------------------------------------------------------------

    def tick(self) -> list[str]:
        """Fire due absence timers and start pending runs; returns the started run ids."""
        try:
            with self.engine.begin() as conn:
                self.consumer.tick(conn)
        except Exception:
            self.consumer.rolled_back()  # the commit failed: memory is ahead of the store
            raise
        return self.launcher.launch()

    def start_timers(self) -> None:
        """Check timers every ``playbooks.timer_poll_s``, and launch runs, in the background."""
        self._timers.start()
        self.launcher.start()

    def close(self) -> None:
        """Stop the timer thread."""
        self._timers.close(timeout=10)
        self.launcher.close()
        self.pool.close()

    # -- versions ----------------------------------------------------------------------------

    def validate(self, text: str) -> Playbook:
        """The playbook of ``text``; :class:`ValidationError` lists every problem."""
        return parse(text, self.registry, self.retention_ms)

    def publish(self, workspace_id: str, text: str, author: str, comment: str) -> versions.Version:
        """Validate and put in force an immutable snapshot of ``text``; every component it uses
        must be approved in the workspace."""
        playbook = self.validate(text)
        self.market.check_publishable(workspace_id, playbook)
        with self.engine.begin() as conn:
            return versions.publish(conn, workspace_id, playbook, author, comment, self.clock())

    def publish_examples(self, workspace_id: str, author: str) -> list[str]:
        """Put the shipped example playbooks (scenarios 1 and 9) in force, each unless some
        version of it already is (a re-run never replaces a user's edit); the ids published."""
        current = {v.playbook_id for v in self.in_force_all(workspace_id)}
        published = []
        for text in examples().values():
            playbook = self.validate(text)
            if playbook.id not in current:
                self.publish(workspace_id, text, author, "shipped example")
                published.append(playbook.id)
        return published

    def in_force(
        self, workspace_id: str, playbook_id: str, at_ms: int | None = None
    ) -> versions.Version:
        """The version in force at ``at_ms`` (now by default)."""
        with self.engine.connect() as conn:
            found = versions.in_force(conn, workspace_id, playbook_id, at_ms or self.clock())
        if found is None:
            raise NotFound("playbook version in force", playbook_id)
        return found

    def in_force_all(self, workspace_id: str) -> list[versions.Version]:
        """The playbooks in force now."""
        with self.engine.connect() as conn:
            return versions.all_in_force(conn, self.clock(), workspace_id)

    def history(self, workspace_id: str, playbook_id: str) -> list[versions.Version]:
        """Every published version of a playbook, oldest first."""
        with self.engine.connect() as conn:
            found = versions.history(conn, workspace_id, playbook_id)
        if not found:
            raise NotFound("playbook", playbook_id)
        return found

    def version(self, workspace_id: str, ref: str) -> versions.Version:
        """A version by hash (or a unique prefix)."""
        with self.engine.connect() as conn:
            return versions.find_version(conn, workspace_id, ref)

    def diff(self, workspace_id: str, older: str, newer: str) -> str:
        """A unified diff between two versions."""
        return versions.diff(self.version(workspace_id, older), self.version(workspace_id, newer))

    def rollback(self, workspace_id: str, playbook_id: str, author: str) -> versions.Version:
        """Put back the previous version, unless a component it uses is not approved now."""

        def check(target: versions.Version) -> None:
            self.market.check_rollback(workspace_id, target)

        with self.engine.begin() as conn:
            return versions.rollback(conn, workspace_id, playbook_id, author, self.clock(), check)

    def deactivate(self, workspace_id: str, playbook_id: str, author: str) -> None:
        """Stop a playbook."""
        with self.engine.begin() as conn:
            versions.deactivate(conn, workspace_id, playbook_id, author, self.clock())

    def dry_run(self, workspace_id: str, text: str, since_ms: int) -> Backtest:
        """Replay the workspace's stored events since ``since_ms`` through ``text``'s trigger."""
        playbook = self.validate(text)
        with self.engine.connect() as conn:
            batches = stored_batches(self.reader, conn, workspace_id, since_ms)
            graph = (
                _graph_lookup(conn, workspace_id, self.clock()) if reads_graph(playbook) else None
            )
            return backtest(playbook, self.registry, batches, graph)

    def experiment(self, workspace_id: str, playbook_id: str) -> ExperimentResult:
        """Results per variant of the experiment of the version in force (the newest when the
        playbook is stopped): conversion to its outcome event, uplift, Fisher's exact test."""
        history = self.history(workspace_id, playbook_id)
        try:
            version = self.in_force(workspace_id, playbook_id)
        except NotFound:
            version = history[-1]
        spec = self.validate(version.source).spec.experiment
        if spec is None:
            raise NotFound("experiment of playbook", f"{playbook_id} (its file has no experiment)")
        firings = self.firings(workspace_id, playbook_id, EXPERIMENT_FIRINGS)
        assigned = assignments(firings)
        with self.engine.connect() as conn:
            converted = converted_profiles(conn, self.log, workspace_id, spec, assigned)
        variants = compare(spec, {p: a.variant for p, a in assigned.items()}, converted)
        outcome = None if spec.outcome is None else spec.outcome.model_dump()
        return ExperimentResult(playbook_id, version.hash, spec.control, outcome, variants)

    # -- firings -----------------------------------------------------------------------------

    def firings(
        self,
        workspace_id: str,
        playbook_id: str | None = None,
        limit: int = 100,
        *,
        profiles: Sequence[str] | None = None,
        until_ms: int | None = None,
    ) -> list[dict[str, Any]]:
        """Firings of the workspace, newest first; optionally only those about ``profiles``
        or created at or before ``until_ms``."""
        f = playbook_firings.c
        stmt = select(playbook_firings).where(f.workspace_id == workspace_id)
        if playbook_id is not None:
            stmt = stmt.where(f.playbook_id == playbook_id)
        if profiles is not None:
            stmt = stmt.where(f.profile_id.in_(profiles))
        if until_ms is not None:
            stmt = stmt.where(f.created_ms <= until_ms)
        stmt = stmt.order_by(f.created_ms.desc(), f.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [{k: v for k, v in r._mapping.items() if k != "request"} for r in rows]

    def approve(self, workspace_id: str, firing_id: str, approver: str) -> dict[str, Any]:
        """Let a firing that awaits approval start its run."""
        f = playbook_firings.c
        with self.engine.begin() as conn:
            row = conn.execute(
                select(playbook_firings).where(f.workspace_id == workspace_id, f.id == firing_id)
            ).first()
            if row is None:
                raise NotFound("firing", firing_id)
            if row.status != "awaiting_approval":
                raise Conflict("firing", firing_id, f"it is {row.status}, not awaiting approval")
            conn.execute(update(playbook_firings).where(f.id == firing_id).values(status="pending"))
            details = {"playbook_id": row.playbook_id, "decision_id": row.decision_id}
            append_audit(conn, workspace_id, approver, "playbook.approve", row.profile_id, details)
        self.launcher.launch()
        return self.firing(workspace_id, firing_id)

    def firing(self, workspace_id: str, firing_id: str) -> dict[str, Any]:
        """One firing."""
        f = playbook_firings.c
        stmt = select(playbook_firings).where(f.workspace_id == workspace_id, f.id == firing_id)
        with self.engine.connect() as conn:
            row = conn.execute(stmt).first()
        if row is None:
            raise NotFound("firing", firing_id)
        return {k: v for k, v in row._mapping.items() if k != "request"}

    def refusals(self, workspace_id: str) -> list[dict[str, Any]]:
        """Calls components made to hosts they did not declare."""
        c = component_refusals.c
        stmt = select(component_refusals).where(c.workspace_id == workspace_id).order_by(c.id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]


def examples() -> dict[str, str]:
    """The shipped example playbook files (package data), by file name."""
    folder = files("crmos.playbooks.examples")
    return {
        f.name: f.read_text("utf-8")
        for f in sorted(folder.iterdir(), key=lambda f: f.name)
        if f.name.endswith(".yaml")
    }


def _graph_lookup(
    conn: Connection, workspace_id: str, at_ms: int
) -> Callable[[str], dict[str, Any]]:
    """Today's graph facts of a profile, read once per profile."""

    @functools.cache
    def lookup(profile_id: str) -> dict[str, Any]:
        return graph_facts(conn, workspace_id, profile_id, at_ms)

    return lookup


def request_of(firing_row: dict[str, Any]) -> dict[str, Any]:
    """The stored run request of a firing row."""
    data: dict[str, Any] = orjson.loads(firing_row["request"])
    return data
