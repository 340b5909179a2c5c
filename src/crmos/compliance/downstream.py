"""Erasure in downstream systems: each is asked, in parallel, and each answer is recorded.

Two kinds of system:

- ``webhook``: ``POST url`` with ``{"request_id", "kind": "erasure", "profile_id",
  "identifiers": [{"type", "value"}]}`` and an ``Idempotency-Key`` header. A 2xx answer is a
  confirmation (its JSON ``confirmation`` field, if any, is kept); 404 or 410 means the system
  holds nothing about the person. Anything else is a failure, reported as such.
- ``action``: an action of the ``crmos.actions`` entry-point group (a connector), run with the
  configured params; string params may name the person's identifiers as ``{email}``,
  ``{phone}``, ``{user_id}`` or ``{profile_id}``.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import entry_points
from typing import Any

import httpx

from crmos.compliance.config import Downstream
from crmos.compliance.model import Outcome
from crmos.compliance.subjects import Subject
from crmos.core.errors import ActionError
from crmos.sagas.ports import StepContext

ACTIONS_GROUP = "crmos.actions"


def erase_downstream(systems: list[Downstream], request_id: str, subject: Subject) -> list[Outcome]:
    """Ask every system to erase ``subject``; one outcome per system, in the given order."""
    if not systems:
        return []
    with ThreadPoolExecutor(max_workers=min(8, len(systems))) as pool:
        return list(pool.map(lambda s: _erase_one(s, request_id, subject), systems))


def _erase_one(system: Downstream, request_id: str, subject: Subject) -> Outcome:
    started = time.perf_counter()
    try:
        if system.kind == "webhook":
            status, count, confirmation = _webhook(system, request_id, subject)
        else:
            status, count, confirmation = _action(system, request_id, subject)
    except (httpx.HTTPError, ActionError, ValueError) as exc:
        elapsed = (time.perf_counter() - started) * 1000
        return Outcome(system.name, "system", "failed", 0, _reason(exc), None, elapsed)
    elapsed = (time.perf_counter() - started) * 1000
    detail = "holds no data about the person" if status == "not_present" else "erasure confirmed"
    return Outcome(system.name, "system", status, count, detail, confirmation, elapsed)


def _webhook(system: Downstream, request_id: str, subject: Subject) -> tuple[Any, int, str]:
    body = {
        "request_id": request_id,
        "kind": "erasure",
        "profile_id": subject.profile_id,
        "identifiers": [{"type": t, "value": v} for t, v in _identifiers(subject)],
    }
    headers = {"Idempotency-Key": f"{request_id}:{system.name}"}
    assert system.url is not None  # checked when the settings were saved
    response = httpx.post(system.url, json=body, headers=headers, timeout=system.timeout_s)
    if response.status_code in (404, 410):
        return "not_present", 0, f"HTTP {response.status_code}"
    if not response.is_success:
        raise ValueError(f"answered HTTP {response.status_code}: {response.text[:200]}")
    data = _json(response)
    confirmation = str(data.get("confirmation") or f"HTTP {response.status_code}")
    return "confirmed", int(data.get("erased") or 0), confirmation


def _action(system: Downstream, request_id: str, subject: Subject) -> tuple[Any, int, str]:
    found = [ep for ep in entry_points(group=ACTIONS_GROUP) if ep.name == system.action]
    if not found:
        raise ValueError(f"no action '{system.action}' is installed ({ACTIONS_GROUP})")
    action = found[0].load()()
    params = action.params.model_validate(_fill(system.params, subject))
    ctx = StepContext(
        run_id=request_id,
        step_id=f"erase:{system.name}",
        attempt=1,
        idempotency_key=f"{request_id}:{system.name}",
        workspace_id=subject.workspace_id,
    )
    try:
        result = action.execute(ctx, params)
    finally:
        closer = getattr(action, "close", None)
        if callable(closer):
            closer()
    return "confirmed", int(result.get("erased") or 0), str(result.get("confirmation") or "ok")


def _identifiers(subject: Subject) -> list[tuple[str, str]]:
    found = dict.fromkeys(subject.identifiers)
    found.update(dict.fromkeys(("user_id", u) for u in subject.user_ids))
    found.update(dict.fromkeys(("anonymous_id", a) for a in subject.anonymous_ids))
    for kind in ("email", "phone"):
        found.update(dict.fromkeys((kind, v) for v in subject.identifiers_of(kind)))
    return list(found)


def _fill(params: dict[str, Any], subject: Subject) -> dict[str, Any]:
    values = {
        "profile_id": subject.profile_id,
        "user_id": subject.user_ids[0] if subject.user_ids else "",
        "email": next(iter(subject.identifiers_of("email")), ""),
        "phone": next(iter(subject.identifiers_of("phone")), ""),
    }
    return {k: v.format(**values) if isinstance(v, str) else v for k, v in params.items()}


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text[:300]
