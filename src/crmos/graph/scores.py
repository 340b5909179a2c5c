"""Role and intent confidences: reinforced by rules, capped, decaying with a half-life.

A score is stored as (value, time); its confidence at a later time ``t`` is
``value * 0.5 ** ((t - time) / half_life)``. Reinforcement adds a step to the decayed value
and caps it. Each reinforcement is kept as evidence (events, rule, before and after).
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, select

from crmos.core.clock import now_ms
from crmos.graph.rulebook import Role
from crmos.identity import tree_ids
from crmos.store.tables_graph import graph_scores, upsert_replace

_s = graph_scores.c
EVIDENCE = 20


def decayed(value: float, since_ms: int, at_ms: int, half_life_ms: int) -> float:
    """``value`` set at ``since_ms``, seen at ``at_ms``."""
    return float(value * 0.5 ** (max(0, at_ms - since_ms) / half_life_ms))


def reinforce(
    conn: Connection,
    workspace_id: str,
    profile_id: str,
    role: Role,
    at_ms: int,
    rule: str,
    why: dict[str, Any],
) -> float:
    """Raise ``role.role`` of a profile by ``role.step`` (capped); returns the new confidence."""
    half = int(role.half_life_days * 86_400_000)
    row = conn.execute(
        select(graph_scores).where(
            _s.workspace_id == workspace_id, _s.profile_id == profile_id, _s.name == role.role
        )
    ).one_or_none()
    before = decayed(row.value, row.updated_ms, at_ms, row.half_life_ms) if row else 0.0
    after = min(role.cap, before + role.step)
    evidence = list(orjson.loads(row.evidence)) if row else []
    entry = {"rule": rule, "at_ms": at_ms, "step": role.step, "before": round(before, 6)}
    evidence = [*evidence, entry | {"after": round(after, 6)} | why][-EVIDENCE:]
    keys = ["workspace_id", "profile_id", "name"]
    stmt = upsert_replace(
        conn.engine, graph_scores, keys, ["value", "half_life_ms", "evidence", "updated_ms"]
    )
    conn.execute(
        stmt,
        {
            "workspace_id": workspace_id,
            "profile_id": profile_id,
            "name": role.role,
            "value": after,
            "half_life_ms": half,
            "evidence": orjson.dumps(evidence).decode(),
            "updated_ms": at_ms,
        },
    )
    return after


def scores_of(
    conn: Connection, workspace_id: str, profile_id: str, at_ms: int | None = None
) -> list[dict[str, Any]]:
    """The confidences of a live profile now (or at ``at_ms``), over its whole merge tree."""
    at = at_ms if at_ms is not None else now_ms()
    tree = tree_ids(workspace_id, profile_id)
    rows = conn.execute(
        select(graph_scores).where(
            _s.workspace_id == workspace_id,
            (_s.profile_id == profile_id) | _s.profile_id.in_(tree),
        )
    ).all()
    best: dict[str, dict[str, Any]] = {}
    for r in rows:
        value = decayed(r.value, r.updated_ms, at, r.half_life_ms)
        if r.name not in best or value > best[r.name]["confidence"]:
            best[r.name] = {
                "name": r.name,
                "confidence": round(value, 6),
                "stored": round(r.value, 6),
                "updated_ms": r.updated_ms,
                "half_life_ms": r.half_life_ms,
                "evidence": orjson.loads(r.evidence),
            }
    return sorted(best.values(), key=lambda x: x["name"])


def profiles_scoring(
    conn: Connection, workspace_id: str, name: str, minimum: float, at_ms: int | None = None
) -> set[str]:
    """Profiles (as the evidence named them; callers resolve merges) whose ``name`` confidence,
    decayed to now (or ``at_ms``), is at least ``minimum``."""
    at = at_ms if at_ms is not None else now_ms()
    rows = conn.execute(
        select(_s.profile_id, _s.value, _s.updated_ms, _s.half_life_ms).where(
            _s.workspace_id == workspace_id, _s.name == name, _s.value >= minimum
        )
    )
    return {
        r.profile_id for r in rows if decayed(r.value, r.updated_ms, at, r.half_life_ms) >= minimum
    }
