"""Incremental evaluation of triggers, per profile, as events arrive.

Each (trigger, profile) pair keeps a compact state: a short list per stateful node of the
pattern (the last ``n`` matches of a count, the partial starts of a sequence, the last time an
absent event was seen) plus an optional timer. An event is first matched against the selectors
indexed by its name (so 50 triggers cost a dict lookup and a few CEL evaluations, not 50), then
only the matched triggers update their state and check whether the pattern now holds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from crmos.triggers.conditions import Evaluable
from crmos.triggers.patterns import (
    Absent,
    AllOf,
    AnyOf,
    Count,
    ParsedPattern,
    Pattern,
    Selector,
    Sequence,
)

State = list[Any]  # one slot per node, then the timer slot: [due_ms, start_ms, event ids]
StateKey = tuple[str, str]  # (trigger key, profile id)


@dataclass(frozen=True, slots=True)
class Trigger:
    """What a playbook watches: its pattern and the condition checked when it completes."""

    key: str
    version: str
    pattern: ParsedPattern
    condition: Evaluable | None = None


@dataclass(frozen=True, slots=True)
class EventView:
    """The few fields of an event the evaluator needs besides the CEL activation."""

    id: str
    name: str | None
    type: str
    ts_ms: int


@dataclass(frozen=True, slots=True)
class Firing:
    """A trigger whose pattern completed for a profile: what, for whom, why."""

    trigger: str
    version: str
    profile_id: str
    event_id: str
    at_ms: int
    event_ids: tuple[str, ...]
    values: dict[str, Any] = field(default_factory=dict)


class Evaluator:
    """Evaluates a set of triggers over a stream of events, keeping per-profile state."""

    def __init__(self, triggers: Iterable[Trigger]) -> None:
        self.triggers = {t.key: t for t in triggers}
        self.states: dict[StateKey, State] = {}
        self.dirty: set[StateKey] = set()
        self.timers: dict[StateKey, int | None] = {}  # changed timers since the last flush
        self._by_name: dict[str | None, list[tuple[Trigger, Selector]]] = defaultdict(list)
        for trigger in self.triggers.values():
            for selector in trigger.pattern.selectors:
                self._by_name[selector.name].append((trigger, selector))

    def candidates(self, name: str | None) -> list[tuple[Trigger, Selector]]:
        """Selectors that may match an event called ``name``."""
        return self._by_name.get(name, []) + self._by_name.get(None, [])

    def observe(
        self, profile_id: str, event: EventView, activation: Mapping[str, Any]
    ) -> list[Firing]:
        """Feed one event of ``profile_id``; returns the triggers it completed."""
        matched: dict[str, set[int]] = {}
        seen: dict[str, bool] = {}  # playbooks often share a condition: evaluate it once
        for trigger, selector in self.candidates(event.name):
            if selector.type is not None and selector.type != event.type:
                continue
            where = selector.where
            if where is not None:
                verdict = seen.get(where.source)
                if verdict is None:
                    verdict = seen[where.source] = where.evaluate(activation)
                if not verdict:
                    continue
            matched.setdefault(trigger.key, set()).add(selector.index)
        firings = []
        for key, selectors in matched.items():
            firing = self._advance(self.triggers[key], profile_id, event, selectors, activation)
            if firing is not None:
                firings.append(firing)
        return firings

    def state(self, trigger: Trigger, profile_id: str) -> State:
        """The state of ``trigger`` for ``profile_id`` (created empty)."""
        key = (trigger.key, profile_id)
        state = self.states.get(key)
        if state is None:
            state = self.states[key] = [None] * (trigger.pattern.nodes + 1)
        return state

    def fire_timer(self, key: str, profile_id: str, now_ms: int) -> Firing | None:
        """The firing of a due absence timer (``None`` if it was cancelled or is not due)."""
        trigger = self.triggers.get(key)
        if trigger is None:
            return None
        state = self.state(trigger, profile_id)
        timer = state[-1]
        if timer is None or timer[0] > now_ms:
            return None
        state[-1] = None
        self._touch(trigger.key, profile_id, timer=None)
        due, start, ids = timer
        values = {"absent_since_ms": start, "window_closed_ms": due}
        return Firing(key, trigger.version, profile_id, f"timer:{ids[-1]}", due, tuple(ids), values)

    def _advance(
        self,
        trigger: Trigger,
        profile_id: str,
        event: EventView,
        selectors: set[int],
        activation: Mapping[str, Any],
    ) -> Firing | None:
        state = self.state(trigger, profile_id)
        self._touch(trigger.key, profile_id)
        root = trigger.pattern.root
        if isinstance(root, Absent) and root.after is not None:
            self._wait(trigger, profile_id, root, state, event, selectors)
            return None
        if not _update(root, state, selectors, event) or not _holds(root, state, event.ts_ms):
            return None
        if trigger.condition is not None and not trigger.condition.evaluate(activation):
            return None
        ids = tuple(dict.fromkeys(_evidence(root, state)))
        values = {"pattern": _describe(root, state, event.ts_ms)}
        if trigger.condition is not None:
            values["condition"] = {trigger.condition.source: True}
        _reset(root, state)
        return Firing(trigger.key, trigger.version, profile_id, event.id, event.ts_ms, ids, values)

    def _wait(
        self,
        trigger: Trigger,
        profile_id: str,
        root: Absent,
        state: State,
        event: EventView,
        selectors: set[int],
    ) -> None:
        assert root.after is not None
        timer = state[-1]
        if root.selector.index in selectors and timer is not None and event.ts_ms >= timer[1]:
            state[-1] = None  # the awaited absence was broken: no firing
            self._touch(trigger.key, profile_id, timer=None)
        after = root.after
        if _update(after, state, selectors, event) and _holds(after, state, event.ts_ms):
            ids = list(dict.fromkeys(_evidence(after, state)))
            due = event.ts_ms + root.within_ms
            state[-1] = [due, event.ts_ms, ids]
            _reset(after, state)
            self._touch(trigger.key, profile_id, timer=due)

    def _touch(self, key: str, profile_id: str, timer: int | bool | None = False) -> None:
        self.dirty.add((key, profile_id))
        if timer is not False:
            self.timers[(key, profile_id)] = None if timer is None else int(timer)


def _update(node: Pattern, state: State, selectors: set[int], event: EventView) -> bool:
    """Apply the event to ``node``'s state; true if it advanced a positive part."""
    if isinstance(node, Count):
        if node.selector.index not in selectors:
            return False
        window = state[node.node] or []
        window.append([event.ts_ms, event.id])
        state[node.node] = window[-node.n :]
        return True
    if isinstance(node, Absent):
        if node.selector.index in selectors:
            last = state[node.node]
            state[node.node] = event.ts_ms if last is None else max(last, event.ts_ms)
        return False
    if isinstance(node, Sequence):
        return _step(node, state, selectors, event)
    moved = False
    for part in node.parts:  # every part must see the event: no short-circuit
        moved = _update(part, state, selectors, event) or moved
    return moved


def _step(node: Sequence, state: State, selectors: set[int], event: EventView) -> bool:
    # starts[j] = [start ms, ids] of the latest partial match that got through step j-1.
    starts = state[node.node] or [None] * (len(node.steps) + 1)
    moved = False
    for j in range(len(node.steps) - 1, -1, -1):
        if node.steps[j].index not in selectors:
            continue
        if j == 0:
            starts[1] = [event.ts_ms, [event.id]]
            moved = True
        elif starts[j] is not None and event.ts_ms - starts[j][0] <= node.within_ms:
            starts[j + 1] = [starts[j][0], [*starts[j][1], event.id]]
            moved = True
    state[node.node] = starts
    return moved


def _holds(node: Pattern, state: State, now: int) -> bool:
    if isinstance(node, Count):
        window = state[node.node]
        return bool(window) and len(window) >= node.n and window[-node.n][0] >= now - node.within_ms
    if isinstance(node, Absent):
        last = state[node.node]
        return last is None or now - last > node.within_ms
    if isinstance(node, Sequence):
        starts = state[node.node]
        done = None if starts is None else starts[-1]
        return done is not None and now - done[0] <= node.within_ms
    if isinstance(node, AllOf):
        return all(_holds(p, state, now) for p in node.parts)
    return any(_holds(p, state, now) for p in node.parts)


def _evidence(node: Pattern, state: State) -> list[str]:
    if isinstance(node, Count):
        return [entry[1] for entry in state[node.node] or []]
    if isinstance(node, Sequence):
        starts = state[node.node]
        return list(starts[-1][1]) if starts and starts[-1] else []
    if isinstance(node, AllOf | AnyOf):
        return [i for part in node.parts for i in _evidence(part, state)]
    return []


def _describe(node: Pattern, state: State, now: int) -> Any:
    """The values the pattern was judged on, for the decision record."""
    if isinstance(node, Count):
        return {"count": len(state[node.node] or []), "at_least": node.n, "holds": True}
    if isinstance(node, Absent):
        return {"absent_last_seen_ms": state[node.node], "holds": _holds(node, state, now)}
    if isinstance(node, Sequence):
        return {"sequence_steps": len(node.steps), "holds": _holds(node, state, now)}
    kind = "all" if isinstance(node, AllOf) else "any"
    return {kind: [_describe(p, state, now) for p in node.parts]}


def _reset(node: Pattern, state: State) -> None:
    """Forget the positive matches that made a firing, so the next one needs new events."""
    if isinstance(node, Count | Sequence):
        state[node.node] = None
    elif isinstance(node, AllOf | AnyOf):
        for part in node.parts:
            _reset(part, state)
