"""HTTP connector specs: what a system offers (base URL, auth, endpoints) declared in YAML.

A spec is package data (``crmos/connectors/specs/*.yaml``, or any package registered in the
``crmos.connector_specs`` entry-point group), read with :mod:`importlib.resources`. The loader
collects every problem, each with its path (and line) in the file, and raises once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from importlib.metadata import entry_points
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic import ValidationError as PydanticError

from crmos.core.errors import Problem, UnknownName, ValidationError

SPEC_GROUP = "crmos.connector_specs"
NAME = r"^[a-z][a-z0-9_]*$"
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "object": dict,
    "array": list,
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParamSpec(_Strict):
    """One parameter of an endpoint."""

    type: Literal["string", "integer", "number", "boolean", "object", "array"] = "string"
    required: bool = False
    description: str = ""
    enum: list[str | int] | None = None


class CompensationSpec(_Strict):
    """Which endpoint undoes this one, and where its params come from.

    ``with`` maps each param of the compensating endpoint to ``result.FIELD`` (from what the
    forward call answered) or ``params.FIELD`` (from what it was called with).
    """

    endpoint: str
    with_: dict[str, str] = Field(default={}, alias="with")


class EndpointSpec(_Strict):
    """One operation: an HTTP method on a path, its params and its compensation."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str = Field(pattern=r"^/")
    description: str = ""
    identifiers: list[str] = Field(
        default=[], description="Kinds of customer identifiers this endpoint receives."
    )
    params: dict[str, ParamSpec] = {}
    compensate: CompensationSpec | None = None
    timeout_s: float | None = Field(default=None, gt=0)

    @property
    def path_params(self) -> list[str]:
        """The ``{placeholders}`` in the path, in order."""
        return PLACEHOLDER.findall(self.path)


class AuthSpec(_Strict):
    """How requests authenticate; the secret itself lives in settings, named by ``secret``."""

    type: Literal["none", "bearer", "basic", "header"] = "none"
    secret: str | None = Field(default=None, pattern=NAME)
    username: str | None = None
    header: str | None = None
    required: bool = True


class ConnectorSpec(_Strict):
    """A whole HTTP connector spec."""

    name: str = Field(pattern=NAME)
    title: str = ""
    base_url: str = Field(pattern=r"^https?://[^/\s]+")
    auth: AuthSpec = AuthSpec()
    timeout_s: float | None = Field(default=None, gt=0)
    endpoints: dict[str, EndpointSpec]

    def endpoint(self, name: str) -> EndpointSpec:
        """The endpoint called ``name``; :class:`UnknownName` with a suggestion when undeclared."""
        try:
            return self.endpoints[name]
        except KeyError:
            where = f"spec '{self.name}'"
            raise UnknownName("endpoint", name, self.endpoints, where) from None


def undeclared(kind: str, name: str, known: Iterable[str], where: str) -> str:
    """``endpoint 'x' is not declared in spec 'erp'; did you mean 'y'?`` (or the valid names):
    the message of :class:`UnknownName` for a problem list."""
    return UnknownName(kind, name, known, where).message


def parse_spec(text: str, source: str) -> ConnectorSpec:
    """Parse and check one spec; raise one :class:`ValidationError` listing every problem."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        raise ValidationError(
            f"connector spec {source} is not YAML", [Problem(where, str(exc), reason="syntax")]
        ) from exc
    if not isinstance(data, dict):
        raise ValidationError(
            f"connector spec {source}", [Problem("(root)", "expected a mapping", reason="type")]
        )
    problems: list[Problem] = []
    spec: ConnectorSpec | None = None
    try:
        spec = ConnectorSpec.model_validate(data)
    except PydanticError as exc:
        problems.extend(_pydantic_problems(exc, node))
    problems.extend(_cross_checks(data, node))
    if problems or spec is None:
        raise ValidationError(f"connector spec {source} has {len(problems)} problem(s)", problems)
    return spec


PATTERN_HINTS = {
    "name": "must be snake_case (a-z, 0-9, _), e.g. erp",
    "base_url": "must be an http:// or https:// URL with a host",
    "path": "must start with /",
    "secret": "must be the snake_case name of a secret in connectors.secrets",
}


def _pydantic_problems(exc: PydanticError, node: yaml.Node | None) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = ["with" if part == "with_" else str(part) for part in err["loc"]]
        message = str(err["msg"])
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        elif err["type"] == "string_pattern_mismatch" and loc[-1] in PATTERN_HINTS:
            message = PATTERN_HINTS[loc[-1]]
        out.append(_problem(loc, message, node, err["type"]))
    return out


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _cross_checks(data: dict[str, Any], node: yaml.Node | None) -> list[Problem]:
    """Checks across fields, on the raw data so that they run even when a field is invalid."""
    out: list[Problem] = []
    auth = _mapping(data.get("auth"))
    kind = auth.get("type", "none")
    if kind != "none" and not auth.get("secret"):
        out.append(_problem(["auth", "secret"], f"auth type {kind} needs a secret name", node))
    if kind == "basic" and not auth.get("username"):
        out.append(_problem(["auth", "username"], "basic auth needs a username", node))
    if kind == "header" and not auth.get("header"):
        out.append(_problem(["auth", "header"], "header auth needs a header name", node))
    endpoints = _mapping(data.get("endpoints"))
    for name, endpoint in endpoints.items():
        out.extend(_endpoint_checks(str(name), _mapping(endpoint), endpoints, node))
    return out


def _endpoint_checks(
    name: str, endpoint: dict[str, Any], endpoints: dict[str, Any], node: yaml.Node | None
) -> list[Problem]:
    here = ["endpoints", name]
    out = []
    if not re.match(NAME, name):
        out.append(_problem(here, "endpoint names are snake_case (a-z, 0-9, _)", node))
    params = _mapping(endpoint.get("params"))
    for placeholder in PLACEHOLDER.findall(str(endpoint.get("path", ""))):
        if not _mapping(params.get(placeholder)).get("required"):
            message = f"path placeholder {{{placeholder}}} needs a required param '{placeholder}'"
            out.append(_problem([*here, "path"], message, node))
    comp = endpoint.get("compensate")
    if isinstance(comp, dict):
        out.extend(_compensation_checks(params, comp, endpoints, [*here, "compensate"], node))
    return out


def _compensation_checks(
    params: dict[str, Any],
    comp: dict[str, Any],
    endpoints: dict[str, Any],
    here: list[str],
    node: yaml.Node | None,
) -> list[Problem]:
    target_name = str(comp.get("endpoint", ""))
    if target_name not in endpoints:
        message = undeclared("endpoint", target_name, endpoints, "this spec")
        return [_problem([*here, "endpoint"], message, node)]
    target_params = _mapping(_mapping(endpoints[target_name]).get("params"))
    bindings = _mapping(comp.get("with"))
    out = []
    for param, source in bindings.items():
        origin, _, field = str(source).partition(".")
        if param not in target_params:
            message = undeclared("param", param, target_params, f"endpoint '{target_name}'")
            out.append(_problem([*here, "with", param], message, node))
        if origin not in ("result", "params") or not field:
            message = f"'{source}' must be result.FIELD or params.FIELD"
            out.append(_problem([*here, "with", param], message, node))
        elif origin == "params" and field not in params:
            message = undeclared("param", field, params, "the forward endpoint")
            out.append(_problem([*here, "with", param], message, node))
    for param, ps in target_params.items():
        if _mapping(ps).get("required") and param not in bindings:
            message = f"required param '{param}' of '{target_name}' is not bound"
            out.append(_problem([*here, "with"], message, node))
    return out


def _problem(
    loc: list[str], message: str, node: yaml.Node | None, reason: str = "invalid"
) -> Problem:
    line = _line_of(node, loc)
    path = ".".join(loc) or "(root)"
    return Problem(f"{path} (line {line})" if line else path, message, reason=reason)


def _line_of(node: yaml.Node | None, loc: list[str]) -> int | None:
    """The 1-based line of the deepest YAML node along ``loc`` (for error messages)."""
    found = node
    for part in loc:
        if not isinstance(found, yaml.MappingNode):
            break
        child = next((v for k, v in found.value if getattr(k, "value", None) == part), None)
        if child is None:
            break
        found = child
    return found.start_mark.line + 1 if found is not None else None


_MODELS: dict[tuple[int, str], tuple[ConnectorSpec, type[BaseModel]]] = {}


def param_model(spec: ConnectorSpec, endpoint_name: str) -> type[BaseModel]:
    """A pydantic model validating the params of one endpoint (unknown params refused)."""
    cached = _MODELS.get((id(spec), endpoint_name))
    if cached is None:
        cached = _MODELS[(id(spec), endpoint_name)] = (spec, _param_model(spec, endpoint_name))
    return cached[1]


def _param_model(spec: ConnectorSpec, endpoint_name: str) -> type[BaseModel]:
    endpoint = spec.endpoint(endpoint_name)
    fields: dict[str, Any] = {}
    for name, param in endpoint.params.items():
        kind: Any = TYPES[param.type]
        if param.enum:
            kind = Literal[tuple(param.enum)]
        fields[name] = (kind, ...) if param.required else (kind | None, None)
    config = ConfigDict(extra="forbid")
    return create_model(f"{spec.name}.{endpoint_name}", __config__=config, **fields)


def validate_params(
    spec: ConnectorSpec, endpoint_name: str, params: Mapping[str, Any]
) -> dict[str, Any]:
    """Params checked against the endpoint's schema; :class:`ValidationError` lists each."""
    try:
        model = param_model(spec, endpoint_name).model_validate(dict(params))
    except PydanticError as exc:
        problems = [
            Problem(".".join(str(p) for p in e["loc"]) or "(params)", _message(e))
            for e in exc.errors()
        ]
        raise ValidationError(f"params of {spec.name}.{endpoint_name}", problems) from exc
    return model.model_dump(exclude_none=True)


def _message(err: Any) -> str:
    return "not declared by the endpoint" if err["type"] == "extra_forbidden" else str(err["msg"])


@cache
def packaged_specs() -> dict[str, ConnectorSpec]:
    """Every spec shipped as package data: crmos's own and those of plugins, by name."""
    packages = ["crmos.connectors.specs"]
    packages += [ep.value for ep in entry_points(group=SPEC_GROUP) if ep.value not in packages]
    specs: dict[str, ConnectorSpec] = {}
    problems: list[Problem] = []
    for package in packages:
        for item in sorted(resources.files(package).iterdir(), key=lambda i: i.name):
            if not item.name.endswith((".yaml", ".yml")):
                continue
            try:
                spec = parse_spec(item.read_text(encoding="utf-8"), f"{package}/{item.name}")
            except ValidationError as exc:
                where = f"{package}/{item.name}"
                problems.extend(Problem(f"{where}: {p.path}", p.message) for p in exc.problems)
                continue
            specs[spec.name] = spec
    if problems:
        raise ValidationError("connector specs have problems", problems)
    return specs


def find_spec(name: str) -> ConnectorSpec:
    """The packaged spec called ``name``; :class:`UnknownName` with a suggestion when unknown."""
    specs = packaged_specs()
    if name not in specs:
        raise UnknownName("connector", name, specs, "any connector spec")
    return specs[name]
