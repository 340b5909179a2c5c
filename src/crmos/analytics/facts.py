"""What playbook conditions read about a profile under ``analytics``, and the value view."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from crmos.analytics import repo
from crmos.analytics.features import TARGETS
from crmos.core.errors import NotFound

CONDITION_FIELDS = ("clv", "p_alive", "expected_purchases", "frequency", "monetary")


def analytics_facts(conn: Connection, workspace_id: str, profile_id: str) -> dict[str, Any]:
    """The ``analytics`` variable of conditions: ``clv``, ``p_alive``, ``expected_purchases``
    and ``propensity.<target>``; a value not computed for the profile is absent (so a
    condition over it is false)."""
    return facts_of(conn, workspace_id, [profile_id]).get(profile_id, {})


def facts_of(
    conn: Connection, workspace_id: str | None, profile_ids: list[str]
) -> dict[str, dict[str, Any]]:
    """:func:`analytics_facts` of several profiles in one query (``workspace_id`` None: the
    ids' own workspaces)."""
    out = {}
    for pid, row in repo.value_rows(conn, workspace_id, profile_ids).items():
        facts: dict[str, Any] = {k: row[k] for k in CONDITION_FIELDS if row[k] is not None}
        facts["propensity"] = {t: row[t] for t in TARGETS if row[t] is not None}
        out[pid] = facts
    return out


def profile_value(conn: Connection, workspace_id: str, profile_id: str) -> dict[str, Any]:
    """A profile's value and likelihoods with reasons in words (:class:`NotFound` when the
    profile has not been scored yet). Each likelihood says what scored it (``model``, or the
    recency/frequency ``baseline`` when the model did not beat it); ``unavailable`` says why a
    target has no likelihood at all."""
    row = repo.value_rows(conn, workspace_id, [profile_id]).get(profile_id)
    if row is None:
        raise NotFound("profile value", profile_id)
    reasons = row.pop("reasons")
    fitted = {m["kind"]: m for m in repo.models(conn, workspace_id)}
    scored_by = {t: fitted.get(f"propensity:{t}", {}).get("metrics", {}) for t in TARGETS}
    return {
        "profile_id": profile_id,
        "scored_ms": row["scored_ms"],
        "clv": {
            k: row[k]
            for k in ("clv", "currency", "expected_purchases", "p_alive", "frequency",
                      "recency", "age", "monetary")
        } | {"version": row["clv_version"]},
        "propensity": {
            t: {"probability": row[t], "reasons": reasons.get(t, []),
                "scored_by": scored_by[t].get("scored_by", "model")}
            for t in TARGETS
            if row[t] is not None
        },
        "unavailable": {
            t: why
            for t in TARGETS
            if row[t] is None
            and (why := fitted.get(f"propensity:{t}", {}).get("params", {}).get("skipped"))
        },
    }  # fmt: skip
