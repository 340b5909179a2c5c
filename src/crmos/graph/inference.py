"""The rule kinds: what a matched rule does to the graph.

Each kind first evaluates every expression it needs (bad data fails here, before any write),
then writes. ``co_attendance`` links profiles seen at one occasion within a window;
``account_signal`` links an account with news to the accounts its contacts met;
``role`` reinforces a role confidence when dwell and repeats add up.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Column, Select, bindparam, or_, select, true, union_all

from crmos.core.errors import ValidationError
from crmos.core.event import Event
from crmos.graph import scores
from crmos.graph.context import DAY_MS, Activation, Batch, Subject, ms
from crmos.graph.model import node_id
from crmos.graph.pending import Change
from crmos.graph.rulebook import AccountSignal, CoAttendance, Role, Rule
from crmos.store import Decision
from crmos.store.tables_graph import graph_adjacency, graph_edges, graph_rule_state, upsert_replace

_e = graph_edges.c
_a = graph_adjacency.c
# Statements built once (bound parameters), so each call skips building and cache-keying SQL.
_OTHERS = (
    select(_e.src_key, _e.src, _e.evidence, _e.valid_from_ms)
    .where(_e.workspace_id == bindparam("ws"), _e.dst == bindparam("occasion"))
    .where(_e.type == "attended", _e.src != bindparam("root"))
    .where(_e.valid_from_ms >= bindparam("lo"), _e.valid_from_ms <= bindparam("hi"))
    .order_by(_e.valid_from_ms.desc())
    .limit(bindparam("k"))
)
_ENDS = (
    select(_a.neg_weight, _a.other)
    .where(_a.workspace_id == bindparam("ws"), _a.node == bindparam("node"))
    .where(_a.type == bindparam("ty"))
    .order_by(_a.neg_weight)
    .limit(bindparam("k"))
)
_ENDS_OF = (
    select(_a.node, _a.neg_weight, _a.other)
    .where(_a.workspace_id == bindparam("ws"), _a.node.in_(bindparam("nodes", expanding=True)))
    .where(_a.type == bindparam("ty"))
    .order_by(_a.node, _a.neg_weight)
)


def _met_side(end: Column[str], other: Column[str] | None) -> Select[Any]:
    """The ``via`` edges with ``node`` at ``end`` (and not also at ``other``)."""
    return (
        select(_e.src_key, _e.dst_key, _e.src, _e.dst, _e.evidence)
        .where(_e.workspace_id == bindparam("ws"), _e.type == bindparam("ty"))
        .where(end == bindparam("node"))
        .where(true() if other is None else other != bindparam("node"))  # self-loops once
        .where(or_(_e.valid_to_ms.is_(None), _e.valid_to_ms > bindparam("at")))
        .where(_e.valid_from_ms >= bindparam("lo"), _e.valid_from_ms <= bindparam("hi"))
    )


# One indexed lookup per end (an OR of both ends made SQLite scan the workspace's edges).
_MET = union_all(_met_side(_e.src, None), _met_side(_e.dst, _e.src)).limit(200)


class RuleDataError(ValidationError, ValueError):
    """An event lacks what a rule needs (a field, a profile).

    Still a ``ValueError``: the graph consumer counts it as an inference failure by that type.
    """

    code = "rule_data_error"


def run(b: Batch, rule: Rule, event: Event, act: Activation) -> None:
    """Apply a matched rule to one event."""
    subject = b.subjects.get(event.seq or -1)
    if rule.kind == "co_attendance":
        _co_attendance(b, rule, event, act, _need(subject))
    elif rule.kind == "account_signal":
        _account_signal(b, rule, event, act)
    else:
        _role(b, rule, event, act, _need(subject))


def _need(subject: Subject | None) -> Subject:
    if subject is None:
        raise RuleDataError("the event has no profile (identity did not attribute it)")
    return subject


def _text(rule: Rule, expr: str, act: Activation) -> str:
    value = rule.run(expr, act)
    if value is None or not str(value).strip():
        raise RuleDataError(f"'{expr}' is empty")
    return str(value)[:255]


def _co_attendance(b: Batch, rule: Rule, event: Event, act: Activation, s: Subject) -> None:
    p: CoAttendance = rule.params
    occasion = node_id("occasion", _text(rule, p.occasion, act))
    label = str(rule.run(p.label, act) or "") if p.label else ""
    at, seq = ms(event), event.seq or 0
    origin, root = s.keys
    b.edges.node(occasion, label or None)
    # The co-attendees are read before this attendance is written: the read leaves out the
    # attendee's own edge (src == root) either way.
    others = _attendees(b, occasion, root, at, p)
    ends = (origin, root, occasion, occasion)
    attended = Change(ends, "attended", 1.0, "max", at, rule.ref, (seq,))
    valid = int(p.valid_days * DAY_MS) if p.valid_days else None
    note = {"occasion": occasion}
    pairs = [
        Change(
            (origin, root, sk, src), p.edge, p.weight, "max", at, rule.ref, (*ev, seq), note, valid
        )
        for sk, src, ev in others
    ]
    b.edges.add([attended, *pairs])


def _attendees(
    b: Batch, occasion: str, root: str, at: int, p: CoAttendance
) -> list[tuple[str, str, list[int]]]:
    """The latest ``max_pairs`` others who attended ``occasion`` within the window (their
    first-seen key, live node, last three evidence events): the store's answer, overlaid with
    the attendances this batch has not written yet."""
    lo, hi = at - int(p.window_days * DAY_MS), at + int(p.window_days * DAY_MS)
    params = {"ws": b.workspace_id, "occasion": occasion, "root": root, "k": p.max_pairs}
    rows = {
        r.src_key: (r.valid_from_ms, r.src, orjson.loads(r.evidence)["events"])
        for r in b.conn.execute(_OTHERS, params | {"lo": lo, "hi": hi})
    }
    for (_, sk, _), e in b.edges.changed("attended", occasion):
        rows.pop(sk, None)
        if e.dst == occasion and e.src != root and lo <= e.valid_from <= hi:
            rows[sk] = (e.valid_from, e.src, e.evidence["events"])
    latest = sorted(rows.items(), key=lambda kv: -kv[1][0])[: p.max_pairs]
    return [(sk, src, events[-3:]) for sk, (_, src, events) in latest]


def _account_signal(b: Batch, rule: Rule, event: Event, act: Activation) -> None:
    p: AccountSignal = rule.params
    account = node_id("account", _text(rule, p.account, act))
    at, seq = ms(event), event.seq or 0
    b.edges.node(account)
    window = int(p.window_days * DAY_MS)
    valid = int(p.valid_days * DAY_MS) if p.valid_days else None
    met = [
        (contact, m, seqs)
        for contact in _ends(b, account, "works_at", limit=500)
        for m, seqs in _met(b, contact, p.via, at, window)
    ]
    partners = _ends_of(b, {m for _, m, _ in met}, "works_at", limit=20)
    changes, notes = [], []
    for contact, met_node, via_seqs in met:
        for partner in partners.get(met_node, ()):
            if partner == account:
                continue
            note = {"signal": seq, "contact": contact, "met": met_node}
            ends = (account, account, partner, partner)
            seqs = (seq, *via_seqs)
            changes.append(Change(ends, p.edge, p.weight, p.mode, at, rule.ref, seqs, note, valid))
            notes.append(note | {"accounts": [account, partner]})
    for edge, inputs in zip(b.edges.put(changes), notes, strict=True):
        _decide(b, rule, event, edge.weight, inputs)


def _ends(b: Batch, node: str, type_: str, limit: int) -> list[str]:
    """The other ends of the ``limit`` strongest live edges of a node (adjacency order)."""
    added = b.edges.added_adjacency(type_, node)
    if added is None:
        b.edges.flush()
        added = []
    params = {"ws": b.workspace_id, "node": node, "ty": type_, "k": limit}
    rows = [(-r.neg_weight, r.other) for r in b.conn.execute(_ENDS, params)]
    return _strongest(rows, added, limit)


def _ends_of(b: Batch, nodes: set[str], type_: str, limit: int) -> dict[str, list[str]]:
    """:func:`_ends` of many nodes in one read (for nodes with few edges, such as people)."""
    if not nodes:
        return {}
    added = {node: b.edges.added_adjacency(type_, node) for node in nodes}
    if any(a is None for a in added.values()):
        b.edges.flush()
        added = {}
    params = {"ws": b.workspace_id, "nodes": sorted(nodes), "ty": type_}
    rows: dict[str, list[tuple[float, str]]] = {}
    for r in b.conn.execute(_ENDS_OF, params):
        rows.setdefault(r.node, []).append((-r.neg_weight, r.other))
    return {n: _strongest(rows.get(n, []), added.get(n) or [], limit) for n in sorted(nodes)}


def _strongest(
    stored: list[tuple[float, str]], added: list[tuple[float, str]], k: int
) -> list[str]:
    """The store's rows (strongest first) with the unwritten ones merged in, ``k`` at most."""
    if added:
        stored = sorted(set(stored) | set(added), key=lambda r: -r[0])
    return [other for _, other in stored[:k]]


def _met(b: Batch, contact: str, via: str, at: int, window: int) -> list[tuple[str, list[int]]]:
    """Who ``contact`` was ``via``-linked to by edges that began within ``window`` of the
    signal's time ``at`` and were in force then (event time, so a replay of history finds the
    same links), with their evidence events: the store's answer, overlaid with the batch's
    unwritten edges."""
    lo, hi = at - window, at + window
    params = {"ws": b.workspace_id, "ty": via, "at": at, "node": contact, "lo": lo, "hi": hi}
    found = {
        (via, r.src_key, r.dst_key): (r.src, r.dst, orjson.loads(r.evidence)["events"])
        for r in b.conn.execute(_MET, params)
    }
    for key, e in b.edges.changed(via, contact):
        found.pop(key, None)
        alive = e.valid_to is None or e.valid_to > at
        if alive and contact in (e.src, e.dst) and lo <= e.valid_from <= hi:
            found[key] = (e.src, e.dst, e.evidence["events"])
    return [(dst if src == contact else src, list(ev)) for src, dst, ev in found.values()][:200]


def _decide(
    b: Batch,
    rule: Rule,
    event: Event,
    score: float,
    inputs: dict[str, Any],
    subject: str | None = None,
) -> None:
    decision = Decision(
        workspace_id=b.workspace_id,
        kind="graph.inference",
        rule=rule.id,
        version=str(rule.version),
        reason=rule.description[:500] or rule.id,
        subject_profile_id=subject,
        score=score,
        inputs=inputs,
        event_ids=[event.message_id],
    )
    b.decisions.append(decision)  # written with the batch


def _role(b: Batch, rule: Rule, event: Event, act: Activation, s: Subject) -> None:
    p: Role = rule.params
    at, seq = ms(event), event.seq or 0
    dwell = bool(rule.run(p.dwell.when, act))
    secs = float(rule.run(p.dwell.seconds, act)) if dwell else 0.0
    repeat = bool(rule.run(p.repeat.when, act))
    if not (dwell or repeat):
        return
    state = _state(b, rule, s.root)
    lo = at - int(p.window_days * DAY_MS)
    state["dwell"] = [d for d in state.get("dwell", []) if d[0] >= lo]
    state["repeat"] = [r for r in state.get("repeat", []) if r[0] >= lo]
    if dwell:
        state["dwell"].append([at, secs, seq])
    if repeat:
        state["repeat"].append([at, seq])
    total = sum(d[1] for d in state["dwell"])
    if total > p.dwell.over and len(state["repeat"]) >= p.repeat.at_least:
        seqs = [d[2] for d in state["dwell"]] + [r[1] for r in state["repeat"]]
        why = {"dwell_s": total, "repeats": len(state["repeat"]), "events": seqs}
        value = scores.reinforce(b.conn, b.workspace_id, s.root, p, at, rule.ref, why)
        _decide(b, rule, event, value, why | {"role": p.role}, subject=s.root)
        state = {}
    _save(b, rule, s.root, state, at)


_t = graph_rule_state.c
_STATES = select(_t.key, _t.state).where(
    _t.workspace_id == bindparam("ws"),
    _t.rule == bindparam("rule"),
    _t.key.in_(bindparam("keys", expanding=True)),
)
_SAVES: dict[str, Any] = {}


def _state(b: Batch, rule: Rule, key: str) -> dict[str, Any]:
    """A rule's state for a key. The first call of a batch reads the rule's states of every
    profile in the batch at once; changed states stay in ``b.states`` until the batch ends."""
    held = b.states.get((rule.id, key))
    if held is not None:
        return held[0]
    if rule.id not in b.stored_states:
        roots = sorted({s.root for s in b.subjects.values()} | {key})
        params = {"ws": b.workspace_id, "rule": rule.id, "keys": roots}
        b.stored_states[rule.id] = {r.key: r.state for r in b.conn.execute(_STATES, params)}
    text = b.stored_states[rule.id].get(key)
    return dict(orjson.loads(text)) if text else {}


def _save(b: Batch, rule: Rule, key: str, state: dict[str, Any], at: int) -> None:
    b.states[(rule.id, key)] = (state, at)


def save_states(b: Batch) -> None:
    """Write the rule states the batch changed (one multi-row upsert)."""
    if not b.states:
        return
    dialect = b.conn.engine.dialect.name
    if dialect not in _SAVES:
        keys, columns = ["workspace_id", "rule", "key"], ["state", "updated_ms"]
        _SAVES[dialect] = upsert_replace(b.conn.engine, graph_rule_state, keys, columns)
    rows = [
        {"workspace_id": b.workspace_id, "rule": rule, "key": key}
        | {"state": orjson.dumps(state).decode(), "updated_ms": at}
        for (rule, key), (state, at) in b.states.items()
    ]
    b.conn.execute(_SAVES[dialect], rows)
    b.states.clear()
