"""Components: the building blocks of playbook steps, from the ``crmos.components`` entry points.

A component declares its ``params`` model, the profile fields it ``reads`` and the ``hosts``
it may call. At run time it gets a :class:`Sandbox`: the profile cut down to the declared
fields, and ``act`` / ``get`` that refuse (and record) any host it did not declare. crmos's own
components register through the same entry-point group as third-party ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticError

from crmos.core.errors import (
    ConfigError,
    PermanentError,
    TransientError,
    UnknownName,
    ValidationError,
)
from crmos.playbooks.sandbox_policy import DEFAULT_LIMITS, Limits

GROUP = "crmos.components"
IMPACTS = ("low", "medium", "high")


class Component(Protocol):
    """One kind of playbook step."""

    name: ClassVar[str]
    description: ClassVar[str]
    params: ClassVar[type[BaseModel]]
    reads: ClassVar[tuple[str, ...]]  # dotted profile fields: traits.email, flags.x, id
    hosts: ClassVar[tuple[str, ...]]  # logical targets (erp, email, chat) or host[:port]
    impact: ClassVar[str]  # low | medium | high: what the approval policy compares
    # Optional: ``limits`` (a sandbox_policy.Limits or a mapping of its fields); the default
    # otherwise, see :func:`limits_of`.

    def run(self, sandbox: Sandbox, params: Any) -> dict[str, Any]:
        """Do the step inside the sandbox; return what later steps may refer to."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """A call a component made to a host it did not declare."""

    workspace_id: str | None
    run_id: str
    component: str
    host: str


@dataclass(frozen=True, slots=True)
class Violation:
    """An attempt the sandbox stopped: a limit or a rule the component broke."""

    workspace_id: str | None
    run_id: str
    component: str
    kind: str  # field | network | filesystem | process | memory | cpu | time | crash
    detail: str
    profile_id: str | None = None
    target: str = ""  # the host, path or field it reached for


class SandboxViolation(PermanentError):
    """The sandbox stopped a component (a rule or a limit); the step fails with the reason."""

    code = "sandbox_violation"

    def __init__(self, component: str, kind: str, detail: str) -> None:
        self.component, self.kind, self.detail = component, kind, detail
        super().__init__(component, f"stopped by the sandbox ({kind}): {detail}")


class HostRefused(PermanentError):
    """A component called a host it did not declare; the call was not made."""

    code = "host_refused"

    def __init__(self, component: str, host: str, declared: Iterable[str]) -> None:
        self.component, self.host = component, host
        allowed = ", ".join(declared) or "none"
        super().__init__(
            component,
            f"may not call '{host}' (declared hosts: {allowed}); "
            "declare it in the component's `hosts` to allow it",
        )


@dataclass(slots=True)
class Ports:
    """What the sandbox reaches through: given by the composition root."""

    profile: Callable[[str | None, str], dict[str, Any]]
    action: Callable[[str], Any]  # name -> a sagas Action (execute(ctx, params))
    refused: Callable[[Refusal], None]
    base_urls: Mapping[str, str] = field(default_factory=dict)
    tag: Callable[[str | None, str, dict[str, Any], str], None] | None = None
    violated: Callable[[Violation], None] | None = None


@dataclass(slots=True)
class Sandbox:
    """What a component sees while it runs: declared fields, declared hosts."""

    component: Component
    ctx: Any  # the sagas StepContext
    profile: dict[str, Any]
    ports: Ports

    def act(self, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Run a connector action (``email.send``) if its system is a declared host."""
        self._allow(action.split(".", 1)[0])
        target = self.ports.action(action)
        try:
            typed = target.params.model_validate(params)
        except PydanticError as exc:
            raise PermanentError(action, f"bad params from {self.component.name}: {exc}") from exc
        result: dict[str, Any] = target.execute(self.ctx, typed)
        return result

    def get(self, url: str) -> dict[str, Any]:
        """GET ``url`` (JSON) if its host is declared, by name or through ``base_urls``."""
        self._allow_url(url)
        try:
            response = httpx.get(url, timeout=10.0)
        except httpx.HTTPError as exc:
            raise TransientError(f"GET {url}", f"failed: {exc}") from exc
        if response.status_code >= 500:
            raise TransientError(f"GET {url}", f"answered {response.status_code}")
        if response.status_code >= 400:
            raise PermanentError(f"GET {url}", f"answered {response.status_code}: {response.text}")
        data: dict[str, Any] = response.json()
        return data

    def url(self, system: str, path: str) -> str:
        """``path`` under the base URL configured for ``system`` (e.g. ``erp``)."""
        base = self.ports.base_urls.get(system)
        if base is None:
            raise PermanentError(system, f"no base URL; set connectors.base_urls.{system}")
        return base.rstrip("/") + path

    def tag(self, traits: Mapping[str, Any]) -> None:
        """Set traits (tags, flags) on the profile through the event stream."""
        self._allow("crmos")
        if self.ports.tag is None:
            raise PermanentError("crmos", "tagging is not available in this process")
        try:
            self.ports.tag(
                self.ctx.workspace_id,
                str(self.profile.get("id", "")),
                dict(traits),
                self.ctx.idempotency_key,
            )
        except ValidationError as exc:  # intake's validators refused a trait: retrying cannot help
            raise PermanentError("crmos", f"traits refused: {exc}") from exc

    def _allow_url(self, url: str) -> None:
        netloc = urlsplit(url).netloc
        declared = set(self.component.hosts)
        aliases = {urlsplit(u).netloc for n, u in self.ports.base_urls.items() if n in declared}
        if netloc in declared or netloc.split(":")[0] in declared or netloc in aliases:
            return
        self._refuse(netloc)

    def _allow(self, host: str) -> None:
        if host not in self.component.hosts:
            self._refuse(host)

    def _refuse(self, host: str) -> None:
        ctx = self.ctx
        self.ports.refused(Refusal(ctx.workspace_id, ctx.run_id, self.component.name, host))
        raise HostRefused(self.component.name, host, self.component.hosts)


def limits_of(component: Component) -> Limits:
    """The resource limits ``component`` declares (``limits``), or the defaults."""
    declared = getattr(component, "limits", None)
    if declared is None:
        return DEFAULT_LIMITS
    if isinstance(declared, Limits):
        return declared
    try:
        return Limits(**dict(declared))
    except TypeError as exc:
        raise ConfigError(f"{GROUP} ({component.name})", f"bad `limits`: {exc}") from exc


def ref_of(component: Component) -> str:
    """``module:qualname`` of the component's class: how a sandbox child imports it."""
    described = getattr(component, "sandbox_ref", None)
    if isinstance(described, str):
        return described
    kind = type(component)
    return f"{kind.__module__}:{kind.__qualname__}"


def cut(profile: Mapping[str, Any], reads: Iterable[str]) -> dict[str, Any]:
    """Only the declared dotted fields of ``profile`` (missing ones are left out)."""
    out: dict[str, Any] = {"id": profile.get("id")}
    for dotted in reads:
        value: Any = profile
        parts = dotted.split(".")
        for part in parts:
            if not isinstance(value, Mapping) or part not in value:
                break
            value = value[part]
        else:
            target = out
            for part in parts[:-1]:
                target = target.setdefault(part, {})
            target[parts[-1]] = value
    return out


class ComponentCall(BaseModel):
    """What a saga step of a playbook carries: the profile it acts for, the component params."""

    model_config = ConfigDict(extra="forbid")
    profile_id: str | None = None
    params: dict[str, Any] = {}


class ComponentAction:
    """A component as a sagas action: validates params, builds the sandbox, runs it."""

    name: ClassVar[str] = ""
    params: ClassVar[type[BaseModel]] = ComponentCall

    def __init__(self, component: Component, ports: Ports) -> None:
        self.component = component
        self.ports = ports

    def execute(self, ctx: Any, params: BaseModel) -> dict[str, Any]:
        """Run the component for the call's profile, seeing only the declared fields."""
        assert isinstance(params, ComponentCall)
        full = self.ports.profile(ctx.workspace_id, params.profile_id) if params.profile_id else {}
        sandbox = Sandbox(self.component, ctx, cut(full, self.component.reads), self.ports)
        try:
            typed = self.component.params.model_validate(params.params)
        except PydanticError as exc:
            raise PermanentError(self.name, f"bad params: {exc}") from exc
        return self.component.run(sandbox, typed)

    def compensate(self, ctx: Any, params: BaseModel, result: dict[str, Any]) -> None:
        """Undo through the component's ``undo`` if it has one (messages cannot be unsent)."""
        undo = getattr(self.component, "undo", None)
        if undo is not None:
            assert isinstance(params, ComponentCall)
            undo(ctx, self.component.params.model_validate(params.params), result)


def _action_class(component: Component) -> type[ComponentAction]:
    """A subclass named for ``component`` (actions carry their name on the class)."""
    return type(f"{type(component).__name__}Action", (ComponentAction,), {"name": component.name})


@dataclass(frozen=True, slots=True)
class Package:
    """The Python distribution a component came from; crmos's own are ``builtin``."""

    name: str
    version: str
    builtin: bool


class UnknownComponent(UnknownName):
    """No component has this name; the message suggests the closest one or lists them."""

    code = "unknown_component"

    def __init__(self, name: str, known: Iterable[str]) -> None:
        super().__init__("component", name, known)


class ComponentRegistry:
    """Components by name."""

    def __init__(self, components: Iterable[Component] = ()) -> None:
        self._components: dict[str, Component] = {}
        self._packages: dict[str, Package] = {}
        for component in components:
            self.add(component)

    def package(self, name: str) -> Package:
        """The distribution that installed component ``name``; one the program registered
        itself (``add`` without a package) counts as built in, like crmos's own."""
        self.get(name)
        return self._packages.get(name, Package("program", "0", builtin=True))

    def version(self, name: str) -> str:
        """The version of the package that installed component ``name``."""
        return self.package(name).version

    def add(
        self, component: Component, origin: str = "program", package: Package | None = None
    ) -> None:
        """Register ``component``; refuses a duplicate name or a missing declaration."""
        for attribute in ("name", "params", "reads", "hosts", "impact", "run"):
            if not hasattr(component, attribute):
                raise ConfigError(f"{GROUP} ({origin})", f"{component!r} lacks `{attribute}`")
        if component.impact not in IMPACTS:
            raise ConfigError(f"{GROUP} ({origin})", f"impact must be one of {IMPACTS}")
        if component.name in self._components:
            raise ConfigError(f"{GROUP} ({origin})", f"'{component.name}' is registered twice")
        self._components[component.name] = component
        if package is not None:
            self._packages[component.name] = package

    def get(self, name: str) -> Component:
        """The component called ``name``; :class:`UnknownComponent` otherwise."""
        try:
            return self._components[name]
        except KeyError:
            raise UnknownComponent(name, self._components) from None

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        return sorted(self._components)

    def actions(self, ports: Ports) -> list[ComponentAction]:
        """Every component as a sagas action."""
        return [_action_class(c)(c, ports) for c in self._components.values()]


def load_components(describe: Callable[[str], Component] | None = None) -> ComponentRegistry:
    """The components installed through the ``crmos.components`` entry points. crmos's own are
    imported here; with ``describe``, every other one is known by what ``describe`` (a sandbox
    child, see ``described``) says of it, so its code never runs in this process."""
    registry = ComponentRegistry()
    for point in sorted(entry_points(group=GROUP), key=lambda p: p.name):
        dist = point.dist
        package = Package(dist.name, dist.version, dist.name == "crmos") if dist else None
        if describe is not None and not (package and package.builtin):
            registry.add(describe(point.value), point.value, package)
            continue
        try:
            loaded = point.load()
        except Exception as exc:
            raise ConfigError(f"{GROUP} ({point.value})", f"cannot be imported: {exc}") from exc
        registry.add(loaded() if isinstance(loaded, type) else loaded, point.value, package)
    return registry
