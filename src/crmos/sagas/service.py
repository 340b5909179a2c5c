"""What the API and the CLI do with runs: start, look at, cancel, retry, report outcomes.

This side never executes a step: it validates, writes the run to the store and queues it for
an engine (in this process or a worker), which picks it up within ``sagas.poll_interval_s``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine as SqlEngine

from crmos.core.clock import now_ms
from crmos.core.errors import ConfigError, Conflict, NotFound, StoreError, ValidationError
from crmos.core.ids import new_id
from crmos.core.settings import Settings
from crmos.sagas.dispatch import Dispatcher, outcome_topic
from crmos.sagas.journal import Journal
from crmos.sagas.model import Plan, new_trace
from crmos.sagas.ports import Action
from crmos.sagas.registry import ActionRegistry, load_registry
from crmos.sagas.spec import compile_plan
from crmos.sagas.views import Entry, NewRun, RunDetail, RunInfo

RETRYABLE = ("compensated", "cancelled")


class Runs:
    """Runs of every workspace; each method takes the caller's workspace and stays in it."""

    def __init__(
        self,
        settings: Settings,
        store: SqlEngine,
        extra_actions: Iterable[Action] = (),
        dispatcher: Dispatcher | None = None,
    ) -> None:
        self.settings = settings
        self.journal = Journal(store)
        self.dispatcher = dispatcher or Dispatcher(settings)
        self._extra = list(extra_actions)
        self._registry: ActionRegistry | None = None
        self._lock = threading.Lock()

    @property
    def registry(self) -> ActionRegistry:
        """The actions runs may use (entry points, plugins, extras), loaded on first use."""
        with self._lock:
            if self._registry is None:
                self._registry = load_registry(self.settings, self._extra)
            return self._registry

    def action(self, name: str) -> Action:
        """The action called ``name`` (:class:`UnknownAction` lists the known ones)."""
        return self.registry.get(name)

    def add_actions(self, actions: Iterable[Action]) -> None:
        """Add actions built after the runs (playbook components call :meth:`action`, so they
        need the runs first); only before the registry is first used."""
        with self._lock:
            if self._registry is not None:
                raise ConfigError("sagas", "add actions before the first run or registry lookup")
            self._extra.extend(actions)

    def validate(self, raw: Mapping[str, Any]) -> Plan:
        """The plan of ``raw``; :class:`ValidationError` listing every problem otherwise."""
        return compile_plan(raw, self.registry, self.settings.sagas)

    def start(
        self,
        workspace_id: str,
        raw: Mapping[str, Any],
        traceparent: str | None = None,
        retry_of: str | None = None,
        origin: str | None = None,
    ) -> RunInfo:
        """Validate and queue a run; it starts as soon as an engine has room. ``origin`` names
        what started it (a playbook firing's decision id), for :meth:`by_origin`."""
        plan = self.validate(raw)
        return self._launch(workspace_id, plan, traceparent, retry_of, origin)

    def by_origin(self, workspace_id: str, origin: str) -> RunInfo | None:
        """The run that ``origin`` started in the workspace, if any (the first one)."""
        return self.journal.by_origin(workspace_id, origin)

    def _launch(
        self,
        workspace_id: str,
        plan: Plan,
        traceparent: str | None,
        retry_of: str | None,
        origin: str | None = None,
    ) -> RunInfo:
        trace_id, parent = new_trace(traceparent)
        run_id = new_id("run_")
        new = NewRun(run_id, workspace_id, plan, trace_id, parent, retry_of, origin)
        self.journal.create(new)
        head = {
            "status": "queued",
            "plan": plan.to_data(),
            "trace_id": trace_id,
            "parent_span_id": parent,
            "workspace_id": workspace_id,
        }
        try:
            self.dispatcher.enqueue(run_id, head)
        except StoreError as exc:
            self.journal.set_status(run_id, "cancelled", reason=f"could not be queued: {exc}")
            raise
        return self.get(workspace_id, run_id).run

    def get(self, workspace_id: str, run_id: str) -> RunDetail:
        """A run with its steps and timeline; :class:`NotFound` outside the workspace."""
        detail = self.journal.get(workspace_id, run_id)
        if detail is None:
            raise NotFound("run", run_id)
        return detail

    def find(
        self,
        workspace_id: str,
        status: str | None = None,
        limit: int = 50,
        before_ms: int | None = None,
    ) -> list[RunInfo]:
        """Runs of the workspace, newest first."""
        return self.journal.find(workspace_id, status, limit, before_ms)

    def entries(
        self,
        workspace_id: str,
        run_ids: Sequence[str],
        until_ms: int | None = None,
        limit: int = 100,
    ) -> list[Entry]:
        """Timeline rows (attempts, compensations, outcomes) of several runs, newest first."""
        if not run_ids:
            return []
        return self.journal.entries(workspace_id, run_ids, until_ms, limit)

    def about(
        self,
        workspace_id: str,
        profile_ids: Sequence[str],
        *,
        open_only: bool = False,
        until_ms: int | None = None,
        limit: int = 50,
    ) -> list[RunInfo]:
        """Runs that act for any of ``profile_ids`` (their subject, the plan's ``profile_id``),
        newest first; started by a playbook firing or through the API alike. ``open_only``
        keeps the runs that have not ended; ``until_ms`` those created at or before it."""
        if not profile_ids:
            return []
        return self.journal.about(
            workspace_id, profile_ids, open_only=open_only, until_ms=until_ms, limit=limit
        )

    def statuses(self, workspace_id: str, run_ids: Sequence[str]) -> dict[str, str]:
        """The status of each run of ``run_ids`` in the workspace (unknown ids left out)."""
        return self.journal.statuses(workspace_id, run_ids) if run_ids else {}

    def cancel(self, workspace_id: str, run_id: str) -> RunInfo:
        """Ask a run to stop: before its next step it compensates what it did and ends."""
        detail = self.get(workspace_id, run_id)
        if detail.run.terminal:
            raise Conflict("run", run_id, f"it already ended as {detail.run.status}")
        self.journal.request_cancel(run_id)
        for step in detail.steps:
            plan_step = detail.plan.step(step.step_id)
            if plan_step.await_outcome is not None and step.outcome is None:
                message = {"status": "cancelled"}
                key = f"{run_id}:{step.step_id}:cancel"
                self.dispatcher.send(run_id, outcome_topic(step.step_id), message, key)
        return self.get(workspace_id, run_id).run

    def retry(self, workspace_id: str, run_id: str) -> RunInfo:
        """Retry a run: repair a run that needs attention, or start a rolled-back one anew."""
        detail = self.get(workspace_id, run_id)
        status = detail.run.status
        if status == "needs_attention":
            self.journal.set_status(run_id, "compensating", ended_ms=None)
            self.dispatcher.enqueue(run_id, repair_id=new_id(f"{run_id}.repair_"))
            return self.get(workspace_id, run_id).run
        if status in RETRYABLE:
            return self._launch(workspace_id, detail.plan, None, run_id)
        hint = "only runs that were compensated, cancelled or need attention can be retried"
        raise Conflict("run", run_id, f"it is {status}; {hint}")

    def report_outcome(
        self,
        workspace_id: str,
        run_id: str,
        step_id: str,
        status: str,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Deliver a step's awaited outcome (a delivery receipt, a webhook callback)."""
        run = self.get(workspace_id, run_id)
        try:
            plan_step = run.plan.step(step_id)
        except KeyError:
            raise NotFound("step", f"{run_id}/{step_id}") from None
        if plan_step.await_outcome is None:
            raise ValidationError(f"step '{step_id}' of run {run_id} awaits no outcome")
        state = next(s for s in run.steps if s.step_id == step_id)
        if state.outcome is not None:
            raise Conflict("outcome of step", step_id, f"it is already '{state.outcome}'")
        message = {"status": status, "detail": dict(detail or {}), "received_ms": now_ms()}
        key = f"{run_id}:{step_id}:outcome"
        self.dispatcher.send(run_id, outcome_topic(step_id), message, key)

    def stats(self, workspace_id: str) -> dict[str, Any]:
        """Runs per status and awaited outcomes per status (with the unacknowledged ones)."""
        outcomes = self.journal.outcome_counts(workspace_id)
        return {
            "runs": self.journal.counts(workspace_id),
            "outcomes": outcomes,
            "unacknowledged_deliveries": outcomes.get("unacknowledged", 0),
        }

    def wait(self, workspace_id: str, run_id: str, timeout_s: float = 30.0) -> RunInfo:
        """Poll until the run ended (or the timeout passed); returns it as it is then."""
        deadline = time.monotonic() + timeout_s
        while True:
            run = self.get(workspace_id, run_id).run
            if run.terminal or time.monotonic() >= deadline:
                return run
            time.sleep(0.05)  # polling the store; the run ends in another thread or process

    def requeue_stranded(self, older_than_s: float = 5.0) -> int:
        """Queue again runs written but never queued (a crash between the two); how many.

        Queueing is idempotent by run id, so a run that is already queued is left as it is.
        """
        stranded = self.journal.queued_before(now_ms() - int(older_than_s * 1000))
        for run_id in stranded:
            self.dispatcher.enqueue(run_id)
        return len(stranded)

    def close(self) -> None:
        """Release the dispatcher's connections and the actions' resources."""
        self.dispatcher.close()
        if self._registry is not None:
            self._registry.close()
