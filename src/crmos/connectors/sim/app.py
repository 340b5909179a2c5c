"""The request logic every simulator shares: routing, faults, idempotency, the ``/_sim`` API.

It knows nothing of sockets: :meth:`SimApp.handle` takes a method, path, headers and body and
returns a :class:`Reply` (see ``server.py`` for the HTTP side).

Per business request, in order: authentication, injected latency, injected faults (no side
effect), the ``Idempotency-Key`` check for writes (same key, same request: the stored answer,
marked ``Idempotent-Replayed: true``; same key, different request: 422), then the handler in one
transaction that also stores its answer. With ``crash_after`` N, the N-th business request is
committed and then the process dies before answering, the worst moment for a client.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import parse_qsl

from crmos.connectors.sim.state import SimState


@dataclass(frozen=True, slots=True)
class Faults:
    """Failure injection.

    ``error_rate`` of business requests fail before doing anything: the ``permanent_share`` of
    them with 422 (``injected_permanent``), the rest with 503 (``injected_transient``).
    Compensations get only transient faults unless ``permanent_on_compensation``: a release
    that is refused for good is what a run's ``needs_attention`` state is for, not a routine
    fault. ``crash_after`` N > 0 makes the N-th business request the last one.
    """

    error_rate: float = 0.0
    permanent_share: float = 1 / 3
    latency_ms: float = 0.0
    crash_after: int = 0
    seed: int | None = None
    permanent_on_compensation: bool = False

    def __post_init__(self) -> None:
        for name in ("error_rate", "permanent_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.latency_ms < 0 or self.crash_after < 0:
            raise ValueError("latency_ms and crash_after must not be negative")


@dataclass(frozen=True, slots=True)
class SimRequest:
    """What a route handler gets."""

    path_params: dict[str, str]
    query: dict[str, str]
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Reply:
    """What goes back: status, JSON body, extra headers; ``crash`` ends the process unanswered."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    crash: bool = False


class Refusal(Exception):
    """A handler's refusal, answered as problem+json (stored like any answer)."""

    def __init__(self, status: int, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.extra = status, code, detail, extra


class Tx:
    """A handler's view of one write: the database and the ledger of side effects."""

    def __init__(self, state: SimState, operation: str, key: str, fingerprint: str) -> None:
        self.db = state.db
        self._state, self.operation, self.key, self.fingerprint = state, operation, key, fingerprint

    def side_effect(self, resource: str, reference: str | None, compensable: bool = True) -> None:
        """Record that this request created ``resource``."""
        self._state.side_effect(
            self.operation, resource, reference, self.fingerprint, self.key, compensable
        )

    def compensate(self, resource: str) -> bool:
        """Record that this request undid ``resource``; False when it was undone already."""
        return self._state.compensated(resource, self.key)


Handler = Callable[[Tx, SimRequest], tuple[int, dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Route:
    """One business endpoint of a simulator."""

    method: str
    pattern: str
    operation: str
    handler: Handler
    write: bool = False
    compensation: bool = False

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path params when ``method path`` is this route."""
        if method != self.method:
            return None
        regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.pattern) + "$"
        found = re.match(regex, path)
        return found.groupdict() if found else None


@dataclass(frozen=True, slots=True)
class Domain:
    """What makes a simulator an ERP, MES or SCM: tables, seed data and routes."""

    kind: str
    default_port: int
    schema: str
    seed: Callable[[Any], None]
    routes: tuple[Route, ...]


class FaultInjector:
    """Decides, per request, whether to fail it (thread-safe, reproducible with a seed)."""

    def __init__(self, faults: Faults) -> None:
        self.lock = threading.Lock()
        self.faults = faults
        self.random = random.Random(faults.seed)
        self.fail_next: list[dict[str, Any]] = []
        self.seen = 0

    def configure(self, changes: Mapping[str, Any]) -> Faults:
        """Change faults at run time (``PUT /_sim/faults``); ``fail_next`` queues exact faults."""
        known = {f.name for f in fields(Faults)}
        unknown = set(changes) - known - {"fail_next"}
        if unknown:
            raise Refusal(422, "unknown_fault", f"unknown fault setting(s): {sorted(unknown)}")
        with self.lock:
            try:
                updated = replace(self.faults, **{k: v for k, v in changes.items() if k in known})
            except (TypeError, ValueError) as exc:
                raise Refusal(422, "invalid_fault", str(exc)) from exc
            if "seed" in changes:
                self.random = random.Random(updated.seed)
            self.faults = updated
            for rule in changes.get("fail_next", []):
                self.fail_next.append(_fail_rule(rule))
            return updated

    def pick(self, route: Route) -> int | None:
        """The status to inject for this request, or None to serve it."""
        with self.lock:
            for rule in self.fail_next:
                if rule["operation"] in (route.operation, "*"):
                    rule["times"] -= 1
                    if rule["times"] <= 0:
                        self.fail_next.remove(rule)
                    return int(rule["status"])
            faults = self.faults
            if faults.error_rate and self.random.random() < faults.error_rate:
                permanent = self.random.random() < faults.permanent_share
                if permanent and (faults.permanent_on_compensation or not route.compensation):
                    return 422
                return 503
        return None

    def last_request(self) -> bool:
        """Count a business request; True when it is the one to crash after."""
        with self.lock:
            self.seen += 1
            return self.faults.crash_after > 0 and self.seen == self.faults.crash_after


def _fail_rule(rule: Any) -> dict[str, Any]:
    if not isinstance(rule, dict) or "operation" not in rule:
        raise Refusal(422, "invalid_fault", "fail_next entries need an operation (or '*')")
    status = int(rule.get("status", 503))
    if not 400 <= status <= 599:
        raise Refusal(422, "invalid_fault", "fail_next status must be 4xx or 5xx")
    return {
        "operation": str(rule["operation"]),
        "status": status,
        "times": int(rule.get("times", 1)),
    }


class SimApp:
    """One simulator: its domain, its state, its faults."""

    def __init__(self, domain: Domain, state: SimState, faults: Faults, token: str | None) -> None:
        self.domain, self.state, self.token = domain, state, token
        self.faults = FaultInjector(faults)

    def handle(self, method: str, target: str, headers: Mapping[str, str], raw: bytes) -> Reply:
        """Answer one HTTP request."""
        path, _, query_string = target.partition("?")
        query = dict(parse_qsl(query_string))
        if path == "/healthz":
            return Reply(200, {"status": "ok", "kind": self.domain.kind})
        if self.token and headers.get("authorization") != f"Bearer {self.token}":
            return problem(401, "unauthorized", "send Authorization: Bearer <the --token value>")
        try:
            body = _json_body(raw)
            if path.startswith("/_sim/"):
                return self._admin(method, path, query, body)
            return self._business(method, path, query, headers, body)
        except Refusal as exc:
            return problem(exc.status, exc.code, exc.detail, **exc.extra)

    def _business(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: Mapping[str, str],
        body: dict[str, Any],
    ) -> Reply:
        route, params = self._route(method, path)
        if self.faults.faults.latency_ms:
            time.sleep(self.faults.faults.latency_ms / 1000)  # injected latency, by design
        crash = self.faults.last_request()
        injected = self.faults.pick(route)
        self.state.count("requests")
        if injected is not None:
            kind = "injected_transient" if injected >= 500 else "injected_permanent"
            self.state.count(kind)
            reply = problem(injected, kind, f"fault injected by crmos sim into {route.operation}")
        else:
            reply = self._serve(route, SimRequest(params, query, body), headers, path)
        if crash:
            self.state.count("crashes")
        return replace(reply, crash=crash)

    def _route(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        for route in self.domain.routes:
            params = route.match(method, path)
            if params is not None:
                return route, params
        raise Refusal(404, "no_such_endpoint", f"{self.domain.kind} has no {method} {path}")

    def _serve(
        self, route: Route, request: SimRequest, headers: Mapping[str, str], path: str
    ) -> Reply:
        try:
            if route.write:
                return self._write(route, request, headers, path)
            return self._read(route, request)
        except Refusal as exc:
            return problem(exc.status, exc.code, exc.detail, **exc.extra)

    def _read(self, route: Route, request: SimRequest) -> Reply:
        with self.state.lock:
            try:
                status, body = route.handler(Tx(self.state, route.operation, "", ""), request)
            except Refusal as exc:
                self.state.count("refusals")
                return problem(exc.status, exc.code, exc.detail, **exc.extra)
        return Reply(status, body)

    def _write(
        self,
        route: Route,
        request: SimRequest,
        headers: Mapping[str, str],
        path: str,
    ) -> Reply:
        key = headers.get("idempotency-key")
        if not key:
            raise Refusal(428, "idempotency_key_required", "writes need an Idempotency-Key header")
        fingerprint = hashlib.sha256(f"{path}\n".encode() + _canonical(request.body)).hexdigest()
        with self.state.transaction() as db:
            self.state.count("writes")
            stored = self.state.replay(route.operation, key)
            if stored is not None:
                return self._replayed(stored, fingerprint, key)
            db.execute("SAVEPOINT handler")
            try:
                status, body = route.handler(
                    Tx(self.state, route.operation, key, fingerprint), request
                )
            except Refusal as exc:
                db.execute("ROLLBACK TO handler")
                self.state.count("refusals")
                status, body = exc.status, problem_body(exc.status, exc.code, exc.detail, exc.extra)
            db.execute("RELEASE handler")
            self.state.remember(route.operation, key, fingerprint, status, body)
        return Reply(status, body, _content_type(status))

    def _replayed(
        self, stored: tuple[str, int, dict[str, Any]], fingerprint: str, key: str
    ) -> Reply:
        first_fingerprint, status, body = stored
        if first_fingerprint != fingerprint:
            raise Refusal(
                422,
                "idempotency_key_reused",
                f"Idempotency-Key '{key}' was first used with a different request; "
                "use a new key for a new request",
            )
        self.state.count("replays")
        return Reply(status, body, {**_content_type(status), "Idempotent-Replayed": "true"})

    def _admin(self, method: str, path: str, query: dict[str, str], body: dict[str, Any]) -> Reply:
        if (method, path) == ("GET", "/_sim/stats"):
            return Reply(200, {"kind": self.domain.kind, **self.state.stats()})
        if (method, path) == ("GET", "/_sim/ledger"):
            return Reply(200, {"side_effects": self.state.ledger(query.get("reference"))})
        if (method, path) == ("POST", "/_sim/reset"):
            self.state.reset()
            return Reply(200, {"reset": True})
        if (method, path) == ("GET", "/_sim/faults"):
            return Reply(200, self._faults_body())
        if (method, path) == ("PUT", "/_sim/faults"):
            self.faults.configure(body)
            return Reply(200, self._faults_body())
        raise Refusal(404, "no_such_endpoint", f"no {method} {path}")

    def _faults_body(self) -> dict[str, Any]:
        faults = self.faults.faults
        data = {f.name: getattr(faults, f.name) for f in fields(Faults)}
        return {**data, "fail_next": list(self.faults.fail_next)}


def problem(status: int, code: str, detail: str, **extra: Any) -> Reply:
    """An RFC 9457 problem answer."""
    return Reply(status, problem_body(status, code, detail, extra), _content_type(status))


def problem_body(status: int, code: str, detail: str, extra: Mapping[str, Any]) -> dict[str, Any]:
    """The problem+json body."""
    title = code.replace("_", " ")
    return {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }


def _content_type(status: int) -> dict[str, str]:
    kind = "application/problem+json" if status >= 400 else "application/json"
    return {"Content-Type": kind}


def _json_body(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise Refusal(400, "invalid_json", f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise Refusal(400, "invalid_json", "the body must be a JSON object")
    return body


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


_MISSING: Any = object()
_KINDS: dict[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true/false",
}


def take(body: Mapping[str, Any], name: str, kind: type, default: Any = _MISSING) -> Any:
    """``body[name]`` checked to be of ``kind``; a 422 refusal naming the field otherwise."""
    value = body.get(name, default)
    if value is _MISSING:
        raise Refusal(422, "invalid_params", f"'{name}' is required")
    if value is default:
        return value
    ok = isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        ok, value = True, float(value)
    if not ok:
        raise Refusal(422, "invalid_params", f"'{name}' must be {_KINDS.get(kind, kind.__name__)}")
    return value


def positive(body: Mapping[str, Any], name: str, kind: type = float) -> Any:
    """A required number above zero."""
    value = take(body, name, kind)
    if value <= 0:
        raise Refusal(422, "invalid_params", f"'{name}' must be above 0")
    return value
