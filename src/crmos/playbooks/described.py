"""Third-party components are never imported by crmos's own processes: a sandbox child imports
one and describes it (name, description, params JSON Schema, reads, hosts, impact, limits), and
the registry holds that description. Its calls run in sandbox children like every other's.

So a package's import-time code runs under the sandbox's guard, not in the server: a hostile
package cannot read the store or the environment just by being installed. crmos's own
components are imported as before (they ship with crmos).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, create_model

from crmos.core.errors import ConfigError, PermanentError
from crmos.playbooks import components
from crmos.playbooks.components import GROUP, Component, ComponentRegistry
from crmos.playbooks.sandbox_policy import DEFAULT_LIMITS, ChildDied, Limits
from crmos.playbooks.sandbox_pool import Spec, search_path, start
from crmos.playbooks.sandbox_zygote import Zygote

JSON_TYPES: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool,
                              "object": dict[str, Any], "null": type(None)}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Described:
    """A component known by the description its sandbox child gave: it runs only there."""

    name: str
    description: str
    params: type[BaseModel]
    reads: tuple[str, ...]
    hosts: tuple[str, ...]
    impact: str
    limits: Limits
    sandbox_ref: str  # module:qualname the child imports

    def run(self, sandbox: Any, params: Any) -> dict[str, Any]:
        """Never in-process: the sandboxed action sends the call to a child."""
        del sandbox, params
        raise PermanentError(self.name, "a package's component runs only in the sandbox; "
                             "turn playbooks.sandbox back on")  # fmt: skip


def load_components() -> ComponentRegistry:
    """The installed components: crmos's own imported, every other described by a child."""
    zygote: Zygote | None = None

    def describe(ref: str) -> Component:
        nonlocal zygote
        zygote = zygote or Zygote(search_path())
        # A Described holds as instance attributes what a component class declares as ClassVars.
        return cast(Component, describe_in_sandbox(ref, zygote))

    try:
        return components.load_components(describe)
    finally:
        if zygote is not None:
            zygote.close()


def describe_in_sandbox(ref: str, zygote: Zygote, path: tuple[str, ...] = ()) -> Described:
    """Import ``ref`` in a sandbox child (no network, no writes) and take its description;
    ``path`` holds folders searched first (a wheel staged before it is installed)."""
    try:
        child = start(Spec(ref, ref, DEFAULT_LIMITS, (), path=path), zygote, describe=True)
    except ChildDied as exc:
        raise ConfigError(f"{GROUP} ({ref})", f"cannot be loaded: {exc.detail}") from exc
    manifest, ref_found = child.manifest, child.manifest.get("ref", ref)
    child.kill()
    try:
        return Described(
            name=str(manifest["name"]),
            description=str(manifest.get("description", "")),
            params=params_model(str(manifest["name"]), manifest["params_schema"]),
            reads=tuple(str(r) for r in manifest["reads"]),
            hosts=tuple(str(h) for h in manifest["hosts"]),
            impact=str(manifest["impact"]),
            limits=Limits(**manifest["limits"]),
            sandbox_ref=str(ref_found),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{GROUP} ({ref})", f"gave no usable description: {exc}") from exc


def params_model(name: str, schema: dict[str, Any]) -> type[BaseModel]:
    """A pydantic model with the fields, types, defaults and enums of a params JSON Schema,
    answering the original schema (constraints it drops are checked again in the child)."""
    required = set(schema.get("required") or ())
    fields: dict[str, Any] = {}
    for key, prop in (schema.get("properties") or {}).items():
        default = ... if key in required else prop.get("default")
        fields[key] = (_annotation(prop), Field(default, description=prop.get("description")))
    extra: Literal["allow", "forbid"] = (
        "forbid" if schema.get("additionalProperties") is False else "allow"
    )
    title = "".join(part.title() for part in name.replace(".", "_").split("_")) + "Params"
    model: type[BaseModel] = create_model(title, __config__=ConfigDict(extra=extra), **fields)

    def original(cls: type[BaseModel], *args: Any, **kwargs: Any) -> dict[str, Any]:
        del cls, args, kwargs
        return schema

    model.model_json_schema = classmethod(original)  # type: ignore[assignment,method-assign]
    return model


def _annotation(prop: dict[str, Any]) -> Any:
    if "enum" in prop:
        return Literal.__getitem__(tuple(prop["enum"]))
    if "const" in prop:
        return Literal.__getitem__((prop["const"],))
    options = prop.get("anyOf") or prop.get("oneOf")
    if options:
        kinds = tuple(_annotation(o) for o in options)
        return kinds[0] if len(kinds) == 1 else _union(kinds)
    kind = prop.get("type")
    if isinstance(kind, list):
        return _union(tuple(JSON_TYPES.get(k, Any) for k in kind))
    if kind == "array":
        item = _annotation(prop["items"]) if "items" in prop else Any
        return list[item]  # type: ignore[valid-type]
    return JSON_TYPES.get(str(kind), Any)


def _union(kinds: tuple[Any, ...]) -> Any:
    out = kinds[0]
    for kind in kinds[1:]:
        out = out | kind
    return out
