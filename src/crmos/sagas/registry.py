"""The action registry: every kind of step a run may use, by its stable name.

Actions come from three places, in this order (a later one may not reuse a name):

1. the ``crmos.actions`` entry-point group, where crmos's own connectors and installed plugins
   register (``[project.entry-points."crmos.actions"]`` in a ``pyproject.toml``);
2. ``sagas.plugins`` in the settings, ``module:attribute`` references for code that is not an
   installed package;
3. :meth:`ActionRegistry.add`, for tests and programs that build their own registry.

An entry point or plugin reference names either an **action class** (built with no argument,
or with the :class:`~crmos.core.settings.Settings` when its constructor takes one), an
**action instance**, or a **provider**: a callable (taking the settings, or nothing) that
returns one action or an iterable of actions, e.g. one per endpoint of a connector spec.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable, Iterator
from importlib.metadata import entry_points
from typing import Any

from crmos.core.errors import ConfigError, UnknownName
from crmos.core.settings import Settings
from crmos.sagas.ports import Action

GROUP = "crmos.actions"


class UnknownAction(UnknownName):
    """No action has this name; the message suggests the closest one or lists them."""

    code = "unknown_action"

    def __init__(self, name: str, known: Iterable[str]) -> None:
        super().__init__("action", name, known)


class ActionRegistry:
    """Actions by name."""

    def __init__(self, actions: Iterable[Action] = ()) -> None:
        self._actions: dict[str, Action] = {}
        self._origin: dict[str, str] = {}
        for action in actions:
            self.add(action)

    def add(self, action: Action, origin: str = "program") -> Action:
        """Register ``action`` under its ``name``; refuses a name that is already taken."""
        name = getattr(action, "name", None)
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{GROUP} ({origin})", f"{action!r} has no string `name`")
        for attribute in ("params", "execute", "compensate"):
            if not hasattr(action, attribute):
                raise ConfigError(f"{GROUP} ({origin})", f"action '{name}' lacks `{attribute}`")
        if name in self._actions:
            raise ConfigError(
                f"{GROUP} ({origin})",
                f"action '{name}' is already registered by {self._origin[name]}; pick another name",
            )
        self._actions[name] = action
        self._origin[name] = origin
        return action

    def get(self, name: str) -> Action:
        """The action called ``name``; :class:`UnknownAction` (with a suggestion) otherwise."""
        try:
            return self._actions[name]
        except KeyError:
            raise UnknownAction(name, self._actions) from None

    def __contains__(self, name: object) -> bool:
        return name in self._actions

    def __iter__(self) -> Iterator[Action]:
        return iter(self._actions[name] for name in sorted(self._actions))

    def __len__(self) -> int:
        return len(self._actions)

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        return sorted(self._actions)

    def close(self) -> None:
        """Let every action that holds resources (connection pools) release them."""
        for action in self._actions.values():
            close = getattr(action, "close", None)
            if callable(close):
                close()

    def origin(self, name: str) -> str:
        """Where the action came from (entry point, plugin reference or ``program``)."""
        return self._origin[name]


def load_registry(settings: Settings, extra: Iterable[Action] = ()) -> ActionRegistry:
    """A registry of the entry-point actions, the configured plugins and ``extra``."""
    registry = ActionRegistry()
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        origin = f"entry point {ep.name} = {ep.value}"
        try:
            target = ep.load()
        except Exception as exc:
            raise ConfigError(GROUP, f"{origin} cannot be imported: {exc}") from exc
        for action in materialise(target, settings, origin):
            registry.add(action, origin)
    for reference in settings.sagas.plugins:
        for action in materialise(import_reference(reference), settings, reference):
            registry.add(action, f"plugin {reference}")
    for action in extra:
        registry.add(action)
    return registry


def import_reference(reference: str) -> Any:
    """The object ``module:attribute`` names (the entry-point syntax)."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ConfigError("sagas.plugins", f"'{reference}' is not of the form module:attribute")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigError("sagas.plugins", f"cannot import '{reference}': {exc}") from exc
    return target


def materialise(target: Any, settings: Settings, origin: str) -> list[Action]:
    """The actions an entry point's object stands for (class, instance, provider or list)."""
    if isinstance(target, type):
        return [_call(target, settings)]
    if _is_action(target):
        return [target]
    if isinstance(target, list | tuple):
        return [a for item in target for a in materialise(item, settings, origin)]
    if callable(target):
        made = _call(target, settings)
        return [made] if _is_action(made) else materialise(list(made), settings, origin)
    raise ConfigError(GROUP, f"{origin} is neither an action, an action class nor a provider")


def _is_action(obj: Any) -> bool:
    return not isinstance(obj, type) and hasattr(obj, "execute") and hasattr(obj, "name")


def _call(factory: Any, settings: Settings) -> Any:
    """Call ``factory`` with the settings when it takes a required argument, else with none."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return factory()
    required = [
        p
        for p in signature.parameters.values()
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return factory(settings) if required else factory()
