"""What happens when a trigger fires: audience, consent, experiment, approval, the Decision,
and the run request written to the firings outbox (unique per playbook and event).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection

from crmos.core.ids import new_id
from crmos.playbooks.components import IMPACTS, ComponentRegistry
from crmos.playbooks.spec import CompensateSpec, Playbook
from crmos.store import Decision, record_decision
from crmos.store.dialect import insert_ignore
from crmos.store.tables_playbooks import playbook_firings
from crmos.triggers import Firing

ConsentCheck = Callable[[Connection, str, str, str], bool]


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a firing acts, and the firing status that says why not."""

    status: str  # pending | held_out | awaiting_approval | not_in_audience | no_consent
    variant: str | None
    reason: str


def variant_of(playbook: Playbook, profile_id: str) -> str | None:
    """The experiment variant of ``profile_id``: deterministic, stable across versions."""
    experiment = playbook.spec.experiment
    if experiment is None:
        return None
    digest = hashlib.sha256(f"{playbook.id}:{profile_id}".encode()).digest()
    bucket = int.from_bytes(digest[:8], "big") % 100
    for name, weight in experiment.variants.items():
        if bucket < weight:
            return name
        bucket -= weight
    return list(experiment.variants)[-1]


def judge(
    playbook: Playbook,
    firing: Firing,
    activation: Mapping[str, Any],
    registry: ComponentRegistry,
    consent: Callable[[str], bool] | None,
) -> Verdict:
    """Apply the audience filter, consent, experiment split and approval policy."""
    variant = variant_of(playbook, firing.profile_id)
    spec = playbook.spec
    if playbook.audience is not None and not playbook.audience.evaluate(activation):
        return Verdict("not_in_audience", variant, f"audience `{spec.audience}` is false")
    if spec.consent is not None and consent is not None and not consent(spec.consent):
        return Verdict("no_consent", variant, f"no consent for purpose '{spec.consent}'")
    if spec.experiment is not None and variant == spec.experiment.control:
        return Verdict("held_out", variant, f"variant '{variant}' is the control group")
    if spec.approval.policy == "required_above":
        limit = IMPACTS.index(spec.approval.impact)
        high = [s.id for s in spec.steps if IMPACTS.index(registry.get(s.component).impact) > limit]
        if high:
            reason = f"steps {', '.join(high)} exceed impact '{spec.approval.impact}'"
            return Verdict("awaiting_approval", variant, reason)
    return Verdict("pending", variant, "conditions met")


def run_request(
    playbook: Playbook, firing: Firing, variant: str | None, decision_id: str
) -> dict[str, Any]:
    """The sagas run request of a firing: one step per playbook step, in dependency order."""
    steps_by_id = {s.id: s for s in playbook.spec.steps}
    steps = []
    for step_id in playbook.order:
        step = steps_by_id[step_id]
        out: dict[str, Any] = {
            "id": step.id,
            "action": step.component,
            "with": {"profile_id": "${input.profile_id}", "params": step.with_},
        }
        if isinstance(step.compensate, CompensateSpec):
            comp = step.compensate
            params = {"profile_id": "${input.profile_id}", "params": comp.with_}
            out["compensate"] = {"action": comp.component, "with": params}
        else:
            out["compensate"] = step.compensate
        steps.append(out)
    run_input = {
        "profile_id": firing.profile_id,
        "playbook_id": playbook.id,
        "version": playbook.hash,
        "event_id": firing.event_id,
        "decision_id": decision_id,
        "variant": variant,
    }
    name = f"playbook:{playbook.id}@{playbook.hash[:12]}"
    return {"name": name, "input": run_input, "profile_id": firing.profile_id, "steps": steps}


def record(
    conn: Connection,
    workspace_id: str,
    playbook: Playbook,
    firing: Firing,
    verdict: Verdict,
    now_ms: int,
) -> str | None:
    """Write the firing (once per playbook and event) and its Decision; returns the firing's
    id, or ``None`` when this playbook already fired for this event."""
    firing_id, decision_id = new_id("fir_"), new_id("dec_")
    request = run_request(playbook, firing, verdict.variant, decision_id)
    row = {
        "id": firing_id,
        "workspace_id": workspace_id,
        "playbook_id": playbook.id,
        "event_id": firing.event_id,
        "profile_id": firing.profile_id,
        "version_hash": playbook.hash,
        "variant": verdict.variant,
        "decision_id": decision_id,
        "status": verdict.status,
        "request": orjson.dumps(request).decode(),
        "reason": verdict.reason,
        "created_ms": now_ms,
    }
    inserted = conn.execute(insert_ignore(conn.engine, playbook_firings).values(**row))
    if inserted.rowcount == 0:
        return None
    record_decision(
        conn, _decision(workspace_id, playbook, firing, verdict, decision_id, firing_id)
    )
    return firing_id


def _decision(
    workspace_id: str,
    playbook: Playbook,
    firing: Firing,
    verdict: Verdict,
    decision_id: str,
    firing_id: str,
) -> Decision:
    acts = verdict.status == "pending"
    what = "starts a run" if acts else f"does not act ({verdict.status}: {verdict.reason})"
    reason = (
        f"playbook '{playbook.id}' fired for profile {firing.profile_id}: its trigger pattern "
        f"completed with event {firing.event_id} ({len(firing.event_ids)} matched events); {what}"
    )
    steps = [{"step": s.id, "component": s.component} for s in playbook.spec.steps] if acts else []
    return Decision(
        workspace_id=workspace_id,
        kind="playbook.trigger",
        rule=f"playbook:{playbook.id}",
        version=playbook.hash,
        reason=reason,
        subject_profile_id=firing.profile_id,
        inputs={
            "firing_id": firing_id,
            "values": firing.values,
            "variant": verdict.variant,
            "status": verdict.status,
            "trigger_version": firing.version,
        },
        event_ids=tuple(dict.fromkeys((*firing.event_ids, firing.event_id))),
        actions=steps,
        id=decision_id,
    )


def loads(text: str) -> dict[str, Any]:
    """A stored run request."""
    data: dict[str, Any] = orjson.loads(text)
    return data
