"""The compliance heatmap: per region, the packs in force, open requests and complaints with
their SLA status, breaches, consent coverage and a risk level."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import Connection, func, select

from crmos.compliance.complaints import list_complaints
from crmos.compliance.packbook import in_force
from crmos.compliance.settings_store import read_config
from crmos.store.tables_compliance import consents, dsr_requests, profile_regions

CONSENT_PURPOSE = "marketing"


def heatmap(conn: Connection, workspace_id: str, now_ms: int) -> dict[str, Any]:
    """Heatmap data of a workspace at ``now_ms``."""
    config = read_config(conn, workspace_id)
    versions = in_force(conn, workspace_id, config.packs, now_ms)
    cells: dict[str, dict[str, Any]] = defaultdict(_cell)
    for regions, profiles, consented in _profiles(conn, workspace_id):
        for region in regions:
            cells[region]["profiles"] += profiles
            cells[region]["consented_profiles"] += consented
    for status, regions, due_ms in _requests(conn, workspace_id):
        for region in regions or ("unknown",):
            cell = cells[region]
            if status in ("received", "running"):
                cell["requests"]["open"] += 1
                cell["requests"]["overdue"] += int(due_ms < now_ms)
            else:
                cell["requests"][status] += 1
    for complaint in list_complaints(conn, workspace_id):
        cell = cells[complaint.region]
        state = complaint.status(now_ms)
        cell["complaints"][state] += 1
        if complaint.breached(now_ms):
            cell["breaches"].append(complaint.as_dict(now_ms))
    return {
        "generated_ms": now_ms,
        "packs": {n: v.summary() for n, v in versions.items()},
        "regions": [_finish(r, cells[r], versions) for r in sorted(cells)],
    }


def _cell() -> dict[str, Any]:
    return {
        "profiles": 0,
        "consented_profiles": 0,
        "requests": Counter(),
        "complaints": Counter(),
        "breaches": [],
    }


def _finish(region: str, cell: dict[str, Any], versions: dict[str, Any]) -> dict[str, Any]:
    packs = {n: v.version for n, v in versions.items() if v.spec.governs(region)}
    needs_consent = any(
        (rule := v.spec.consent.get(CONSENT_PURPOSE)) is not None and rule.lawful_basis == "consent"
        for v in versions.values()
        if v.spec.governs(region)
    )
    profiles = cell["profiles"]
    coverage = cell["consented_profiles"] / profiles if profiles else None
    breaches = len(cell["breaches"]) + cell["requests"]["overdue"]
    at_risk = cell["complaints"]["at_risk"]
    if breaches:
        risk = "high"
    elif at_risk or (needs_consent and coverage is not None and coverage < 0.5):
        risk = "medium"
    else:
        risk = "low" if packs else "unregulated"
    return {
        "region": region,
        "packs": packs,
        "profiles": profiles,
        "consent_coverage": None if coverage is None else round(coverage, 3),
        "requests": dict(cell["requests"]),
        "complaints": dict(cell["complaints"]),
        "breaches": cell["breaches"][:50],
        "breach_count": breaches,
        "risk": risk,
    }


def _profiles(conn: Connection, workspace_id: str) -> list[tuple[list[str], int, int]]:
    granted = (
        select(consents.c.profile_id)
        .where(consents.c.workspace_id == workspace_id)
        .where(consents.c.purpose == CONSENT_PURPOSE, consents.c.state == "granted")
        .distinct()
        .subquery()
    )
    rows = conn.execute(
        select(
            profile_regions.c.regions,
            func.count(),
            func.count(granted.c.profile_id),
        )
        .select_from(
            profile_regions.outerjoin(granted, granted.c.profile_id == profile_regions.c.profile_id)
        )
        .where(profile_regions.c.workspace_id == workspace_id)
        .group_by(profile_regions.c.regions)
    ).all()
    return [([r for r in row[0].split(",") if r], int(row[1]), int(row[2])) for row in rows]


def _requests(conn: Connection, workspace_id: str) -> list[tuple[str, list[str], int]]:
    rows = conn.execute(
        select(dsr_requests.c.status, dsr_requests.c.regions, dsr_requests.c.due_ms).where(
            dsr_requests.c.workspace_id == workspace_id
        )
    ).all()
    return [(r.status, [x for x in r.regions.split(",") if x], r.due_ms) for r in rows]
