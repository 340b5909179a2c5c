"""Scenario checks about playbook firings and runs: 1 (renewal risk), 7 (framework agreement),
8 (service ticket meets MES) and 9 (insurance renewal)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Connection

from crmos.demo.judging import Outcome, Seen, failed
from crmos.demo.stage import sim_stats
from crmos.sagas import RunDetail


def _firings(seen: Seen, playbook: str) -> list[dict[str, Any]]:
    return seen.c.playbooks.firings(seen.workspace_id, playbook, limit=500)


def _mail_to(seen: Seen, address: str) -> list[dict[str, Any]]:
    return [m for m in seen.outbox if address.lower() in (a.lower() for a in m["to"])]


def renewal_risk(seen: Seen, conn: Connection) -> Outcome:
    """1: three comparison views in three days, no form -> ROI mail, CSM task, director card."""
    name = "Renewal risk"
    form = {e["userId"] for e in seen.marked(1, "track", "Renewal Form Submitted")}
    people = [e for e in seen.marked(1, "identify") if e["traits"].get("email") not in form]
    if not people:
        return failed(1, name, "-", [], "the demo world has no renewal buyer (cast.json)")
    email = people[0]["traits"]["email"]
    buyer = seen.profile(conn, people[0])
    firings = _firings(seen, "renewal-risk")
    where = [seen.api("/api/v1/playbooks/renewal-risk/firings"), seen.cli("playbooks firings")]
    mine = [f for f in firings if f["profile_id"] == buyer]
    others = [f for f in firings if f["profile_id"] != buyer]
    page = seen.page(f"/profiles/{buyer}" if buyer else "/runs")
    if not mine:
        return failed(1, name, f"{len(firings)} firings", where, "no firing for the buyer", page)
    run = seen.c.runs.get(seen.workspace_id, mine[0]["run_id"]) if mine[0]["run_id"] else None
    if run is not None:
        where += [seen.api(f"/api/v1/runs/{run.run.id}"), seen.cli(f"runs show {run.run.id}")]
        page = seen.page(f"/runs/{run.run.id}")
    where.append(seen.api("/api/v1/demo/outbox"))
    mails = _mail_to(seen, email)
    hooks = Counter(m["webhook"] for m in seen.chat)
    took = ""
    if run is not None and run.run.ended_ms is not None:
        took = f" {run.run.ended_ms - mine[0]['created_ms']} ms after the firing"
    happened = (
        f"fired {len(mine)}x for {email}: run {run.run.status if run else 'not started'}{took}; "
        f"{len(mails)} ROI mail(s) in the outbox; chat: {hooks['csm']} CSM task(s), "
        f"{hooks['director']} director card(s); {len(others)} firing(s) for anyone else"
    )
    if run is None or run.run.status != "completed":
        reason = run.run.reason if run else mine[0]["status"]
        return failed(1, name, happened, where, f"the run did not complete: {reason}", page)
    if not mails or not hooks["csm"] or not hooks["director"]:
        return failed(1, name, happened, where, "an action did not reach its counterpart", page)
    if others:
        return failed(1, name, happened, where, "it also fired for the control (form sent)", page)
    if len(mine) != 1:
        return failed(1, name, happened, where, "it fired more than once for the buyer", page)
    return Outcome(1, name, happened, where, True, console=page)


def _run_for(seen: Seen, plan: str, key: str, value: str) -> RunDetail | None:
    for info in seen.runs:
        if info.name != plan:
            continue
        detail = seen.c.runs.get(seen.workspace_id, info.id)
        if detail.plan.input.get(key) == value:
            return detail
    return None


def _effects(seen: Seen, run_id: str) -> dict[str, dict[str, Any]]:
    """Per simulator: the side effects recorded for this run (its reference)."""
    found: dict[str, dict[str, Any]] = {}
    for kind in ("erp", "mes", "scm", "servicedesk"):
        stats = sim_stats(seen.folder, kind)
        rows = [r for r in stats.get("ledger", []) if r["reference"] == run_id]
        twice = Counter((r["operation"], r["fingerprint"]) for r in rows)
        found[kind] = {
            "operations": Counter(r["operation"] for r in rows),
            "open": sum(1 for r in rows if r["compensable"] and r["compensated_at_ms"] is None),
            "compensated": sum(1 for r in rows if r["compensated_at_ms"] is not None),
            "duplicates": sum(n - 1 for n in twice.values()),
        }
    return found


AGREEMENT_EFFECTS = (2, 1, 1)
"""Side effects of one completed agreement at the ERP (draft, credit), MES and SCM."""


def framework_agreement(seen: Seen, conn: Connection) -> Outcome:
    """7: contract -> credit -> capacity -> material; over the limit, it compensates."""
    name = "Framework agreement saga"
    good = _run_for(seen, "framework_agreement", "customer_id", "acme")
    bad = _run_for(seen, "framework_agreement", "customer_id", "globex")
    where = [seen.api("/api/v1/runs?status=compensated"), seen.cli("runs list")]
    if good is None or bad is None:
        reason = "the demo's two agreement runs were not started"
        return failed(7, name, "-", where, reason, seen.page("/runs"))
    where += [seen.cli(f"runs show {good.run.id}"), seen.cli(f"runs show {bad.run.id}")]
    page = seen.page(f"/runs/{bad.run.id}")  # the rolled-back one shows every compensation
    ok_fx, bad_fx = _effects(seen, good.run.id), _effects(seen, bad.run.id)
    applied = {k: sum(v["operations"].values()) for k, v in ok_fx.items()}
    duplicates = sum(v["duplicates"] for v in (*ok_fx.values(), *bad_fx.values()))
    left = sum(v["open"] for v in bad_fx.values())
    happened = (
        f"acme: {good.run.status}, side effects erp {applied['erp']}, mes {applied['mes']}, "
        f"scm {applied['scm']}; globex (over its credit limit, expected to roll back): "
        f"{bad.run.status} at step {bad.run.failed_step} "
        f"({sum(v['compensated'] for v in bad_fx.values())} undone, {left} left); "
        f"{duplicates} duplicate side effects"
    )
    if (
        good.run.status != "completed"
        or (applied["erp"], applied["mes"], applied["scm"]) != AGREEMENT_EFFECTS
    ):
        reason = "acme's agreement did not apply each step once"
        return failed(7, name, happened, where, reason, seen.page(f"/runs/{good.run.id}"))
    if bad.run.status != "compensated" or bad.run.failed_step != "credit" or left:
        return failed(7, name, happened, where, "globex's refused agreement was not undone", page)
    if duplicates:
        return failed(7, name, happened, where, "a side effect was applied twice", page)
    return Outcome(7, name, happened, where, True, console=page)


def service_ticket(seen: Seen, conn: Connection) -> Outcome:
    """8: a repair ticket meets the MES alarm log and a known defect: no engineer sent."""
    name = "Service ticket meets MES"
    known = _run_for(seen, "service_ticket", "device_id", "dev-1001")
    unknown = _run_for(seen, "service_ticket", "device_id", "dev-1002")
    where = [seen.api("/api/v1/decisions"), seen.cli("runs list")]
    if known is None or unknown is None:
        reason = "the demo's two ticket runs were not started"
        return failed(8, name, "-", where, reason, seen.page("/runs"))
    where += [seen.cli(f"runs show {known.run.id}"), seen.cli(f"runs show {unknown.run.id}")]
    page = seen.page(f"/runs/{known.run.id}")
    desk_known = _effects(seen, known.run.id)["servicedesk"]["operations"]
    desk_unknown = _effects(seen, unknown.run.id)["servicedesk"]["operations"]
    happened = (
        f"dev-1001 (alarm E42): run {known.run.status}, defect attached "
        f"{desk_known['attach']}x, engineers sent {desk_known['dispatch']}; "
        f"dev-1002 (no known defect): run {unknown.run.status}, engineers sent "
        f"{desk_unknown['dispatch']}"
    )
    if known.run.status != "completed" or unknown.run.status != "completed":
        return failed(8, name, happened, where, "a ticket run did not complete", page)
    if (desk_known["attach"], desk_known["dispatch"]) != (1, 0):
        reason = "the known defect did not replace the visit"
        return failed(8, name, happened, where, reason, page)
    if desk_unknown["dispatch"] != 1:
        return failed(8, name, happened, where, "the unknown fault got no engineer", page)
    return Outcome(8, name, happened, where, True, console=page)


def insurance_renewal(seen: Seen, conn: Connection) -> Outcome:
    """9: quote, qualified agent and compliant script per region, then the renewal e-mail."""
    name = "Insurance renewal outbound"
    holders = seen.marked(9, "identify")
    firings = _firings(seen, "insurance-renewal")
    where = [seen.api("/api/v1/playbooks/insurance-renewal/firings"), seen.cli("playbooks firings")]
    where.append(seen.api("/api/v1/demo/outbox"))
    by_profile = {f["profile_id"]: f for f in firings}
    lines, problems, runs = [], [], []
    for holder in holders:
        country = holder["traits"].get("country") or "?"
        firing = by_profile.get(seen.profile(conn, holder))
        if firing is None:
            problems.append(f"no firing for the holder in {country}")
            continue
        if firing["run_id"] is None:
            lines.append(f"{country}: {firing['status']} ({firing['variant']})")
            if firing["status"] != "held_out":
                problems.append(f"{country}: firing {firing['status']}: {firing['reason']}")
            continue
        run = seen.c.runs.get(seen.workspace_id, firing["run_id"]).run
        runs.append(run.id)
        mails = len(_mail_to(seen, holder["traits"].get("email", "")))
        lines.append(f"{country}: run {run.status}, {mails} mail(s)")
        if run.status != "completed" or not mails:
            problems.append(f"{country}: run {run.status} ({run.reason}), {mails} mail(s)")
    happened = "; ".join(lines) or "no holders"
    page = seen.page(f"/runs/{runs[0]}" if runs else "/runs")
    if problems or not holders:
        reason = "; ".join(problems) or "no policy holders"
        return failed(9, name, happened, where, reason, page)
    return Outcome(9, name, happened, where, True, console=page)
