"""The one generic runner of HTTP connector specs, on httpx.

It calls only what a spec declares: an undeclared connector or endpoint, params the endpoint
does not declare, or a URL that would leave the spec's host is refused with a
:class:`~crmos.core.errors.PermanentError` naming it. Every call carries the step's
``Idempotency-Key`` and ``traceparent`` headers.
"""

from __future__ import annotations

import base64
import weakref
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from crmos.connectors.base import SettingsLike, compensation_key, connector_settings
from crmos.connectors.redact import register_secret
from crmos.connectors.spec import (
    ConnectorSpec,
    EndpointSpec,
    packaged_specs,
    undeclared,
    validate_params,
)
from crmos.core.clock import utcnow
from crmos.core.errors import PermanentError, TransientError, UnknownName, ValidationError
from crmos.sagas import StepContext

#: Statuses worth a retry: timeouts, too early, rate limits and every server error.
TRANSIENT_STATUSES = frozenset({408, 425, 429})
USER_AGENT = "crmos-connector/0.1"


class HttpRunner:
    """Calls the endpoints declared in connector specs, and nothing else.

    One runner keeps one pooled :class:`httpx.Client`; close it with :meth:`close` (it is also
    closed when the runner is garbage-collected).
    """

    def __init__(
        self,
        settings: SettingsLike = None,
        *,
        specs: Mapping[str, ConnectorSpec] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = connector_settings(settings)
        self.specs = dict(specs) if specs is not None else packaged_specs()
        self._client = httpx.Client(
            transport=transport, follow_redirects=False, headers={"User-Agent": USER_AGENT}
        )
        self._finalizer = weakref.finalize(self, self._client.close)

    def close(self) -> None:
        """Release the pooled connections."""
        self._finalizer()

    def spec(self, connector: str) -> ConnectorSpec:
        """The spec called ``connector``; :class:`PermanentError` when none is declared."""
        if connector not in self.specs:
            raise PermanentError(
                connector, undeclared("connector", connector, self.specs, "any connector spec")
            )
        return self.specs[connector]

    def base_url(self, spec: ConnectorSpec) -> httpx.URL:
        """The spec's base URL, or the one settings put in its place."""
        return httpx.URL(self.settings.base_urls.get(spec.name, spec.base_url))

    def call(
        self,
        connector: str,
        endpoint: str,
        params: Mapping[str, Any],
        ctx: StepContext,
        *,
        key: str | None = None,
    ) -> dict[str, Any]:
        """Call one declared endpoint; return its JSON answer as a dict.

        Raises :class:`TransientError` for timeouts, connection failures, 408/425/429 and 5xx,
        and :class:`PermanentError` for everything else that is not a 2xx.
        """
        spec = self.spec(connector)
        target = f"{connector}.{endpoint}"
        try:
            declared = spec.endpoint(endpoint)
            checked = validate_params(spec, endpoint, params)
        except UnknownName as exc:
            raise PermanentError(target, exc.message) from None
        except ValidationError as exc:
            raise PermanentError(target, exc.message) from exc
        request = self._request(spec, declared, checked, ctx, key or ctx.idempotency_key)
        return self._send(target, request, self._timeout(spec, declared, ctx))

    def compensate(
        self,
        connector: str,
        endpoint: str,
        params: Mapping[str, Any],
        result: Mapping[str, Any],
        ctx: StepContext,
    ) -> dict[str, Any] | None:
        """Call the endpoint that undoes ``endpoint``; ``None`` when the spec declares none."""
        spec = self.spec(connector)
        try:
            comp = spec.endpoint(endpoint).compensate
        except UnknownName as exc:
            raise PermanentError(f"{connector}.{endpoint}", exc.message) from None
        if comp is None:
            return None
        bound: dict[str, Any] = {}
        for param, source in comp.with_.items():
            origin, _, field = source.partition(".")
            values = result if origin == "result" else params
            if field not in values:
                raise PermanentError(
                    f"{connector}.{comp.endpoint}",
                    f"cannot compensate {endpoint}: its {origin} has no '{field}' "
                    f"(has: {', '.join(sorted(values)) or 'nothing'})",
                )
            bound[param] = values[field]
        key = compensation_key(ctx.idempotency_key)
        return self.call(connector, comp.endpoint, bound, ctx, key=key)

    def _request(
        self,
        spec: ConnectorSpec,
        endpoint: EndpointSpec,
        params: dict[str, Any],
        ctx: StepContext,
        key: str,
    ) -> httpx.Request:
        base = self.base_url(spec)
        rest = dict(params)
        path = endpoint.path
        for placeholder in endpoint.path_params:
            path = path.replace(f"{{{placeholder}}}", quote(str(rest.pop(placeholder)), safe=""))
        url = base.copy_with(path=base.path.rstrip("/") + path)
        headers = {"Idempotency-Key": key, "Accept": "application/json"}
        if ctx.traceparent:
            headers["traceparent"] = ctx.traceparent
        headers.update(self._auth_headers(spec))
        if endpoint.method in ("GET", "DELETE"):
            request = self._client.build_request(endpoint.method, url, params=rest, headers=headers)
        else:
            request = self._client.build_request(endpoint.method, url, json=rest, headers=headers)
        self._check_host(spec, base, request.url)
        return request

    @staticmethod
    def _check_host(spec: ConnectorSpec, base: httpx.URL, url: httpx.URL) -> None:
        same_origin = (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)
        if not same_origin or not url.path.startswith(base.path.rstrip("/") + "/"):
            raise PermanentError(
                spec.name,
                f"refused to call {url.scheme}://{url.host}{url.path}: not under the declared "
                f"base URL {base.scheme}://{base.host}{base.path}",
            )

    def _auth_headers(self, spec: ConnectorSpec) -> dict[str, str]:
        auth = spec.auth
        if auth.type == "none" or auth.secret is None:
            return {}
        secret = self.settings.secrets.get(auth.secret)
        if secret is None:
            if not auth.required:
                return {}
            raise PermanentError(
                spec.name,
                f"secret '{auth.secret}' is not configured; set "
                f"CRMOS__CONNECTORS__SECRETS__{auth.secret.upper()}",
            )
        value = secret.get_secret_value()
        register_secret(value)
        if auth.type == "bearer":
            return {"Authorization": f"Bearer {value}"}
        if auth.type == "basic":
            token = base64.b64encode(f"{auth.username}:{value}".encode()).decode()
            register_secret(token)
            return {"Authorization": f"Basic {token}"}
        return {str(auth.header): value}

    def _timeout(self, spec: ConnectorSpec, endpoint: EndpointSpec, ctx: StepContext) -> float:
        timeout = endpoint.timeout_s or spec.timeout_s or self.settings.timeout_s
        if ctx.deadline is not None:
            deadline = ctx.deadline
            now = utcnow()
            left = (deadline - now).total_seconds()
            if left <= 0:
                raise TransientError(spec.name, f"the step's deadline {deadline} has passed")
            timeout = min(timeout, left)
        return timeout

    def _send(self, target: str, request: httpx.Request, timeout: float) -> dict[str, Any]:
        request.extensions["timeout"] = httpx.Timeout(timeout).as_dict()
        try:
            response = self._client.send(request)
        except httpx.TimeoutException as exc:
            raise TransientError(target, f"no answer within {timeout:.1f}s") from exc
        except httpx.TransportError as exc:
            raise TransientError(target, f"{type(exc).__name__}: {exc}") from exc
        return answer(target, response)


def answer(target: str, response: httpx.Response) -> dict[str, Any]:
    """A response's JSON body as a dict, or the right error for its status."""
    status = response.status_code
    if status in TRANSIENT_STATUSES or status >= 500:
        raise TransientError(target, f"HTTP {status}: {_detail(response)}")
    if 300 <= status < 400:
        location = response.headers.get("location", "?")
        raise PermanentError(target, f"HTTP {status} redirect to {location} not followed")
    if status >= 400:
        raise PermanentError(target, f"HTTP {status}: {_detail(response)}")
    if not response.content:
        return {}
    try:
        body = response.json()
    except ValueError as exc:
        raise PermanentError(target, f"HTTP {status} answer is not JSON") from exc
    return body if isinstance(body, dict) else {"items": body}


def _detail(response: httpx.Response) -> str:
    """The most useful words of an error answer (problem+json detail, else the text)."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict):
        code = body.get("code")
        detail = body.get("detail") or body.get("title") or body.get("message") or body
        return f"{detail} ({code})" if code else str(detail)[:300]
    return str(body)[:300]
