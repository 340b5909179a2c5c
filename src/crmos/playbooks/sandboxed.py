"""A component as a sagas action whose every call runs in a sandbox child process.

The parent cuts the profile down to the declared fields (nothing else crosses to the child),
sends the call to a warm child of the component, and answers the child's ``act`` and ``tag``
requests itself, through the same :class:`Sandbox` checks the in-process path uses. What the
child's guard refused, and any limit the child broke, is reported through ``ports.violated``
(an audit entry and a Decision) and fails the step with :class:`SandboxViolation`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, ClassVar, NoReturn

from pydantic import BaseModel
from sqlalchemy import Engine

from crmos.core.errors import CrmosError, PermanentError, TransientError
from crmos.playbooks.components import (
    Component,
    ComponentCall,
    HostRefused,
    Ports,
    Refusal,
    Sandbox,
    SandboxViolation,
    Violation,
    cut,
    limits_of,
    ref_of,
)
from crmos.playbooks.sandbox_policy import ChildDied, endpoints
from crmos.playbooks.sandbox_pool import Pool, Spec


def spec_of(component: Component, ports: Ports, deny_roots: tuple[str, ...] = ()) -> Spec:
    """How the pool starts children for ``component``."""
    reach = endpoints(component.hosts, ports.base_urls)
    return Spec(component.name, ref_of(component), limits_of(component), tuple(reach), deny_roots)


class SandboxedAction:
    """Runs a component in a child process; the saga sees an ordinary action."""

    name: ClassVar[str] = ""
    params: ClassVar[type[BaseModel]] = ComponentCall

    def __init__(self, component: Component, ports: Ports, pool: Pool, spec: Spec) -> None:
        self.component, self.ports, self.pool, self.spec = component, ports, pool, spec

    def execute(self, ctx: Any, params: BaseModel) -> dict[str, Any]:
        """Run the component for the call's profile in its sandbox."""
        assert isinstance(params, ComponentCall)
        full = self.ports.profile(ctx.workspace_id, params.profile_id) if params.profile_id else {}
        message = {
            "op": "call",
            "params": params.params,
            "profile": cut(full, self.component.reads),
            "ctx": step_view(ctx),
            "base_urls": dict(self.ports.base_urls),
        }
        return self._run(ctx, params.profile_id, message)

    def compensate(self, ctx: Any, params: BaseModel, result: dict[str, Any]) -> None:
        """Undo through the component's ``undo``, in the sandbox too, if it has one."""
        assert isinstance(params, ComponentCall)
        if getattr(self.component, "undo", None) is not None:
            message = {
                "op": "undo",
                "params": params.params,
                "profile": {},
                "result": result,
                "ctx": step_view(ctx),
                "base_urls": dict(self.ports.base_urls),
            }
            self._run(ctx, params.profile_id, message)

    def _run(self, ctx: Any, profile_id: str | None, message: dict[str, Any]) -> dict[str, Any]:
        parent = Sandbox(self.component, ctx, {"id": profile_id}, self.ports)
        raised: list[CrmosError] = []
        try:
            answer = self.pool.call(self.spec, message, lambda r: answer_request(parent, r, raised))
        except ChildDied as exc:
            self._stop(ctx, profile_id, [{"kind": exc.kind, "detail": exc.detail}])
        refused = [str(host) for host in answer.get("refusals") or ()]
        for host in refused:
            self.ports.refused(Refusal(ctx.workspace_id, ctx.run_id, self.component.name, host))
        if refused:  # failed with it, or swallowed it: the step fails with the refusal
            raise HostRefused(self.component.name, refused[0], self.component.hosts)
        if answer.get("violations"):
            self._stop(ctx, profile_id, answer["violations"])
        if answer.get("op") == "done":
            result = answer.get("result")
            return dict(result) if isinstance(result, Mapping) else {"value": result}
        raise rebuilt(answer.get("error") or {}, raised, self.component.name)

    def _stop(self, ctx: Any, profile_id: str | None, found: list[dict[str, Any]]) -> NoReturn:
        """Report every violation, then fail the step with the first."""
        name = self.component.name
        for v in found:
            kind, detail = str(v.get("kind", "?")), str(v.get("detail", "?"))
            target = str(v.get("target") or "")
            if self.ports.violated is not None:
                self.ports.violated(
                    Violation(ctx.workspace_id, ctx.run_id, name, kind, detail, profile_id, target)
                )
        first = found[0]
        raise SandboxViolation(name, str(first.get("kind")), str(first.get("detail")))


def sandboxed_class(component: Component) -> type[SandboxedAction]:
    """A subclass named for ``component`` (actions carry their name on the class)."""
    kind = type(component).__name__
    return type(f"{kind}SandboxedAction", (SandboxedAction,), {"name": component.name})


def store_dirs(engine: Engine) -> tuple[str, ...]:
    """The folder of an embedded SQLite store: a child may never read it."""
    from crmos.store import sqlite_path  # here: a sandbox child never loads the store

    path = sqlite_path(str(engine.url))
    return () if path is None else (os.path.dirname(os.path.abspath(path)),)


def step_view(ctx: Any) -> dict[str, Any]:
    """What the child may know of the step (the real context stays in the parent)."""
    return {
        "run_id": ctx.run_id,
        "step_id": ctx.step_id,
        "attempt": ctx.attempt,
        "idempotency_key": ctx.idempotency_key,
        "workspace_id": ctx.workspace_id,
    }


def answer_request(
    parent: Sandbox, request: Mapping[str, Any], raised: list[CrmosError]
) -> dict[str, Any]:
    """Do what the child asks (``act``, ``tag``) under the same checks as in-process; an error
    is kept here and named to the child by its position, so it can be raised again as is."""
    try:
        op = request.get("op")
        if op == "act":
            return {"ok": parent.act(str(request["action"]), dict(request["params"]))}
        if op == "tag":
            parent.tag(dict(request["traits"]))
            return {"ok": None}
        raise PermanentError(parent.component.name, f"asked the sandbox for unknown '{op}'")
    except (KeyError, TypeError, ValueError) as exc:
        error: CrmosError = PermanentError(parent.component.name, f"malformed request: {exc}")
    except CrmosError as exc:
        error = exc
    raised.append(error)
    return {
        "error": {
            "origin": len(raised) - 1,
            "target": getattr(error, "target", parent.component.name),
            "reason": error.message,
            "transient": isinstance(error, TransientError),
        }
    }


def rebuilt(error: Mapping[str, Any], raised: list[CrmosError], name: str) -> CrmosError:
    """The error a call failed with: one the parent raised (by position), or the child's."""
    origin = error.get("origin")
    if isinstance(origin, int) and 0 <= origin < len(raised):
        return raised[origin]
    target, reason = str(error.get("target") or name), str(error.get("reason") or "failed")
    if error.get("kind") == "transient":
        return TransientError(target, reason)
    return PermanentError(target, reason)
