"""The rule kinds: what a matched rule does to the graph.

Each kind first evaluates every expression it needs (bad data fails here, before any write),
then writes. ``co_attendance`` links profiles seen at one occasion within a window;
``account_signal`` links an account with news to the accounts its contacts met;
``role`` reinforces a role confidence when dwell and repeats add up.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import bindparam, or_, select

from crmos.core.event import Event
from crmos.graph import scores
from crmos.graph.context import DAY_MS, Activation, Batch, Subject, ms
from crmos.graph.edges import ensure_node, put_edge, put_new_edges
from crmos.graph.model import node_id
from crmos.graph.rulebook import AccountSignal, CoAttendance, Role, Rule
from crmos.store import Decision, record_decision
from crmos.store.tables_graph import graph_adjacency, graph_edges, graph_rule_state, upsert_replace

_e = graph_edges.c
_a = graph_adjacency.c


class RuleDataError(ValueError):
    """An event lacks what a rule needs (a field, a profile)."""


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
    ensure_node(b.conn, b.workspace_id, occasion, label or None)
    keep = b.settings.max_evidence
    ends = (origin, root, occasion, occasion)
    put_edge(
        b.conn,
        b.workspace_id,
        ends,
        "attended",
        weight=1.0,
        at_ms=at,
        rule=rule.ref,
        seqs=[seq],
        keep=keep,
    )
    window = int(p.window_days * DAY_MS)
    others = b.conn.execute(
        select(_e.src_key, _e.src, _e.evidence)
        .where(_e.workspace_id == b.workspace_id, _e.dst == occasion, _e.type == "attended")
        .where(_e.src != root, _e.valid_from_ms >= at - window, _e.valid_from_ms <= at + window)
        .order_by(_e.valid_from_ms.desc())
        .limit(p.max_pairs)
    ).all()
    pairs = [
        ((origin, root, o.src_key, o.src), [*orjson.loads(o.evidence)["events"][-3:], seq])
        for o in others
    ]
    put_new_edges(
        b.conn,
        b.workspace_id,
        pairs,
        p.edge,
        weight=p.weight,
        at_ms=at,
        rule=rule.ref,
        note={"occasion": occasion},
        keep=keep,
    )


def _account_signal(b: Batch, rule: Rule, event: Event, act: Activation) -> None:
    p: AccountSignal = rule.params
    account = node_id("account", _text(rule, p.account, act))
    at, seq = ms(event), event.seq or 0
    ensure_node(b.conn, b.workspace_id, account)
    contacts = _ends(b, account, "works_at", limit=500)
    window = int(p.window_days * DAY_MS)
    for contact in contacts:
        for met, via_seqs in _met(b, contact, p.via, at - window, at + window):
            for partner in _ends(b, met, "works_at", limit=20):
                if partner == account:
                    continue
                seqs = [seq, *via_seqs]
                note = {"signal": seq, "contact": contact, "met": met}
                edge = put_edge(
                    b.conn,
                    b.workspace_id,
                    (account, account, partner, partner),
                    p.edge,
                    weight=p.weight,
                    mode=p.mode,
                    at_ms=at,
                    rule=rule.ref,
                    seqs=seqs,
                    note=note,
                    keep=b.settings.max_evidence,
                )
                _decide(b, rule, event, edge.weight, note | {"accounts": [account, partner]})


def _ends(b: Batch, node: str, type_: str, limit: int) -> list[str]:
    stmt = (
        select(_a.other)
        .where(_a.workspace_id == b.workspace_id, _a.node == node, _a.type == type_)
        .order_by(_a.neg_weight)
        .limit(limit)
    )
    return list(b.conn.execute(stmt).scalars())


def _met(b: Batch, contact: str, via: str, lo: int, hi: int) -> list[tuple[str, list[int]]]:
    rows = b.conn.execute(
        select(_e.src, _e.dst, _e.evidence)
        .where(_e.workspace_id == b.workspace_id, _e.type == via, _e.valid_to_ms.is_(None))
        .where(or_(_e.src == contact, _e.dst == contact))
        .where(_e.valid_from_ms >= lo, _e.valid_from_ms <= hi)
        .limit(200)
    ).all()
    return [
        (r.dst if r.src == contact else r.src, list(orjson.loads(r.evidence)["events"]))
        for r in rows
    ]


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
    record_decision(b.conn, decision)


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
_STATE = select(_t.state).where(
    _t.workspace_id == bindparam("ws"), _t.rule == bindparam("rule"), _t.key == bindparam("key")
)
_SAVES: dict[str, Any] = {}


def _state(b: Batch, rule: Rule, key: str) -> dict[str, Any]:
    params = {"ws": b.workspace_id, "rule": rule.id, "key": key}
    text = b.conn.execute(_STATE, params).scalar_one_or_none()
    return dict(orjson.loads(text)) if text else {}


def _save(b: Batch, rule: Rule, key: str, state: dict[str, Any], at: int) -> None:
    dialect = b.conn.engine.dialect.name
    if dialect not in _SAVES:
        keys, columns = ["workspace_id", "rule", "key"], ["state", "updated_ms"]
        _SAVES[dialect] = upsert_replace(b.conn.engine, graph_rule_state, keys, columns)
    stmt = _SAVES[dialect]
    row = {"workspace_id": b.workspace_id, "rule": rule.id, "key": key}
    b.conn.execute(stmt, row | {"state": orjson.dumps(state).decode(), "updated_ms": at})
