"""Gathers a Customer 360 from the rooms' public functions: identity's profile view, the event
reader, decisions, recommendations and interactions, consent, data-subject requests, the graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from crmos.agent import list_interactions
from crmos.agent import repo as agent_repo
from crmos.bootstrap import Container
from crmos.compliance import consent_history
from crmos.compliance.requests import list_requests
from crmos.graph import list_audiences, members, neighbourhood, node_id, scores_of
from crmos.identity import profile_view
from crmos.store import EventQuery, decisions_of

EVENT_IDS = ("user_id", "anonymous_id")
PER_PAGE = 25
KINDS = ("event", "interaction", "recommendation", "decision", "dsr", "merge")


@dataclass(frozen=True, slots=True)
class TimelineFilter:
    """What the timeline shows; kept in the URL."""

    kind: str = ""
    touchpoint: str = ""
    since_ms: int | None = None
    page: int = 0


def gather(c: Container, conn: Connection, ws: str, profile_id: str) -> dict[str, Any]:
    """Everything the 360 page shows, bar the timeline."""
    view = profile_view(conn, ws, profile_id)
    pid = view["id"]
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for consent in consent_history(conn, ws, pid):
        latest[(consent.purpose, consent.channel)] = consent.as_dict()
    return {
        "view": view,
        "scores": scores_of(conn, ws, pid),
        "audiences": _audiences(conn, ws, pid),
        "consents": sorted(latest.values(), key=lambda c: (c["purpose"], c["channel"])),
        "recommendations": _recommendations(conn, ws, view),
        "decisions": decisions_of(conn, ws, pid, 100),
        "graph": _graph(c, conn, ws, pid),
    }


def timeline(
    c: Container, conn: Connection, ws: str, view: dict[str, Any], filt: TimelineFilter
) -> dict[str, Any]:
    """One time-ordered list of what happened to the profile, filtered and paged."""
    pid = view["id"]
    items = [*_events(c, ws, view), *_others(conn, ws, pid, view)]
    touchpoints = sorted({i["touchpoint"] for i in items if i["touchpoint"]})
    if filt.kind:
        items = [i for i in items if i["kind"] == filt.kind]
    if filt.touchpoint:
        items = [i for i in items if i["touchpoint"] == filt.touchpoint]
    if filt.since_ms is not None:
        items = [i for i in items if i["at_ms"] >= filt.since_ms]
    items.sort(key=lambda i: i["at_ms"], reverse=True)
    start = filt.page * PER_PAGE
    return {
        "items": items[start : start + PER_PAGE],
        "total": len(items),
        "has_more": start + PER_PAGE < len(items),
        "touchpoints": touchpoints,
    }


def _events(c: Container, ws: str, view: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for ident in view["identifiers"]:
        if ident["type"] not in EVENT_IDS:
            continue
        by_user = ident["type"] == "user_id"
        query = EventQuery(
            ws,
            user_id=ident["value"] if by_user else None,
            anonymous_id=None if by_user else ident["value"],
            limit=1000,
            newest_first=True,
        )
        for e in c.reader.find(query):
            out.append(
                _item(
                    "event",
                    _ms(e.get("timestamp")),
                    e.get("event") or e.get("name") or e.get("type", ""),
                    e.get("type", ""),
                    e.get("touchpoint", ""),
                )
            )
    return out


def _others(conn: Connection, ws: str, pid: str, view: dict[str, Any]) -> list[dict[str, Any]]:
    out = [
        _item(
            "interaction",
            i.get("occurred_ms") or i["received_ms"],
            i.get("subject") or i["kind"],
            str((i.get("tags") or {}).get("intent") or ""),
            i.get("touchpoint") or "",
        )
        for i in list_interactions(conn, ws, pid)
    ]
    out += [
        _item("recommendation", r["created_ms"], r["title"], r["status"], "")
        for r in _recommendations(conn, ws, view)
    ]
    out += [
        _item("decision", d.at_ms, d.reason, f"{d.kind} · {d.rule} {d.version}", "", d.id)
        for d in decisions_of(conn, ws, pid, 500)
    ]
    out += [
        _item("dsr", r.received_ms, r.kind, r.status, "")
        for r in list_requests(conn, ws, profile_id=pid)
    ]
    out += [
        _item("merge", m["created_ms"], m["reason"], "split" if m["split_ms"] else "", "")
        for m in view["merges"]
    ]
    return out


def _recommendations(conn: Connection, ws: str, view: dict[str, Any]) -> list[dict[str, Any]]:
    """Recommendations about the profile or any profile merged into it, newest first."""
    found = [
        rec
        for member in (view["id"], *view["merged_ids"])
        for rec in agent_repo.list_recommendations(conn, ws, member)
    ]
    return sorted(found, key=lambda r: r["created_ms"], reverse=True)


def _item(
    kind: str, at_ms: int, title: str, detail: str, touchpoint: str, ref: str = ""
) -> dict[str, Any]:
    return {
        "kind": kind,
        "at_ms": int(at_ms or 0),
        "title": str(title),
        "detail": str(detail),
        "touchpoint": str(touchpoint or ""),
        "ref": ref,
    }


def _ms(stamp: Any) -> int:
    if not stamp:
        return 0
    try:
        return int(datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return 0


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
