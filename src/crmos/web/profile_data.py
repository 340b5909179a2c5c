"""Gathers a Customer 360 from the rooms' public functions: identity's profile view, decisions,
recommendations, consent, the runs acting for the profile, the graph (the timeline comes from
:mod:`crmos.api.timeline`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from crmos.agent import list_interactions, list_recommendations
from crmos.analytics import profile_value
from crmos.bootstrap import Container
from crmos.compliance import consent_history
from crmos.core.clock import utcnow
from crmos.core.errors import NotFound
from crmos.graph import list_audiences, members, neighbourhood, node_id, scores_of
from crmos.identity import event_sources, profile_view
from crmos.store import decisions_of


def gather(c: Container, conn: Connection, ws: str, profile_id: str) -> dict[str, Any]:
    """Everything the 360 page shows, bar the timeline."""
    view = profile_view(conn, ws, profile_id)
    pid = view["id"]
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for consent in consent_history(conn, ws, pid):
        latest[(consent.purpose, consent.channel)] = consent.as_dict()
    scores = scores_of(conn, ws, pid)
    return {
        "view": view,
        "scores": scores,
        "score_history": score_history(scores, int(utcnow().timestamp() * 1000)),
        "audiences": _audiences(conn, ws, pid),
        "consents": sorted(latest.values(), key=lambda c: (c["purpose"], c["channel"])),
        "recommendations": _recommendations(conn, ws, view),
        "decisions": decisions_of(conn, ws, pid, 100),
        "runs": [r.as_dict() for r in c.runs.about(ws, [pid, *view["merged_ids"]], limit=20)],
        "graph": _graph(c, conn, ws, pid),
        "value": _value(conn, ws, pid),
    }


def _value(conn: Connection, ws: str, pid: str) -> dict[str, Any] | None:
    """The profile's CLV and likelihoods with reasons, or None before its first scoring."""
    try:
        return profile_value(conn, ws, pid)
    except NotFound:
        return None


def score_history(scores: list[dict[str, Any]], now_ms: int) -> dict[str, Any]:
    """Each role's confidence over time, from the reinforcements its evidence keeps (the last
    20: before and after each step), ending at its decayed confidence now."""
    series = []
    for score in scores:
        points: list[list[float]] = []
        for step in score["evidence"]:
            if isinstance(step, dict) and "at_ms" in step:
                points.append([step["at_ms"], step.get("before", 0.0)])
                points.append([step["at_ms"], step.get("after", 0.0)])
        points.append([now_ms, score["confidence"]])
        series.append({"name": score["name"], "data": points})
    return {"kind": "time", "series": series}


def touchpoints(conn: Connection, ws: str, view: dict[str, Any]) -> list[str]:
    """The touchpoints the timeline can be filtered by: those of events and interactions."""
    tree = [view["id"], *view["merged_ids"]]
    found = set(event_sources(conn, ws, tree))
    for pid in tree:
        found.update(i["touchpoint"] for i in list_interactions(conn, ws, pid) if i["touchpoint"])
    return sorted(found)


def _recommendations(conn: Connection, ws: str, view: dict[str, Any]) -> list[dict[str, Any]]:
    """Recommendations about the profile or any profile merged into it, newest first."""
    found = [
        rec
        for member in (view["id"], *view["merged_ids"])
        for rec in list_recommendations(conn, ws, member)
    ]
    return sorted(found, key=lambda r: r["created_ms"], reverse=True)


def _audiences(conn: Connection, ws: str, pid: str) -> list[str]:
    """Names of the audiences the profile is in now (a bounded scan per audience)."""
    names = []
    for audience in list_audiences(conn, ws):
        page = members(conn, ws, audience.id, limit=1000)
        if any(m["profile_id"] == pid for m in page["data"]):
            names.append(audience.name)
    return names


def _graph(c: Container, conn: Connection, ws: str, pid: str) -> dict[str, Any]:
    """The two-hop neighbourhood as Cytoscape elements."""
    fanout = c.graph.settings.fanout if c.graph is not None else 100
    answer = neighbourhood(conn, ws, node_id("profile", pid), hops=2, limit=40, fanout=fanout)
    data = answer.as_dict()
    nodes = [
        {"data": {"id": data["start"], "label": data["start"], "kind": "profile", "start": True}}
    ]
    nodes += [
        {"data": {"id": n["node"], "label": n["node"], "kind": n["kind"]}}
        for n in data["nodes"]
        if n["node"] != data["start"]
    ]
    known = {n["data"]["id"] for n in nodes}
    edges = [
        {
            "data": {
                "id": f"e{i}",
                "source": e["src"],
                "target": e["dst"],
                "label": e["type"],
                "weight": e["weight"],
            }
        }
        for i, e in enumerate(data["edges"])
        if e["src"] in known and e["dst"] in known
    ]
    return {"elements": nodes + edges, "edges": data["edges"]}
