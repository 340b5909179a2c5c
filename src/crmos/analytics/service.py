"""Fitting and scoring a workspace: CLV (BG/NBD + Gamma-Gamma) and the propensity models, the
values stored per profile, each prediction recorded as a Decision with its reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Engine

from crmos.analytics import repo
from crmos.analytics.clv import (
    BgNbd,
    FitError,
    Floats,
    GammaGamma,
    discounted_value,
    expected_purchases,
    fit_bgnbd,
    fit_gamma_gamma,
    p_alive,
)
from crmos.analytics.evaluate import Evaluation, evaluate
from crmos.analytics.features import DAY_MS, TARGETS, Events, features
from crmos.analytics.history import History, read_history
from crmos.analytics.messages import Purchases
from crmos.analytics.rfm import Customers, summarise, unit_days
from crmos.core.clock import now_ms
from crmos.core.ids import new_id
from crmos.core.logsafe import get_logger
from crmos.core.settings import AnalyticsSettings
from crmos.ingest import EventReader
from crmos.store import Decision, WorkspaceStore, record_decisions

log = get_logger(__name__)
MONTHS_PER_YEAR = 12


@dataclass(frozen=True, slots=True)
class ClvFit:
    """A workspace's CLV models: one BG/NBD, one Gamma-Gamma per currency that supports it."""

    bgnbd: BgNbd
    spend: dict[str, GammaGamma]
    customers: Customers
    version: str


class Analytics:
    """Fits and scores workspaces; the serving process calls :meth:`refresh_all` on a schedule."""

    def __init__(self, engine: Engine, reader: EventReader, settings: AnalyticsSettings) -> None:
        self.engine = engine
        self.reader = reader
        self.settings = settings
        self.purchases = Purchases(
            settings.purchase_event, tuple(settings.amount_properties), settings.currency_property
        )
        self.events = Events(settings.purchase_event, frozenset(settings.renewal_events))

    def refresh_all(self) -> dict[str, dict[str, Any]]:
        """Refresh every workspace; a workspace that fails is logged and the others go on."""
        done = {}
        for ws in WorkspaceStore(self.engine).list():
            try:
                done[ws.id] = self.refresh(ws.id)
            except Exception:  # one workspace's bad data must not stop the others
                log.exception("analytics refresh of workspace %s failed", ws.id)
        return done

    def refresh(self, workspace_id: str) -> dict[str, Any]:
        """Fit the workspace's models on its history, score every profile, store it all."""
        history = read_history(self.engine, self.reader, workspace_id, self.purchases)
        clv, clv_note = self._fit_clv(history)
        evaluation = evaluate(
            history.profiles, history.end_ms, self.settings.propensity_window_days, self.events
        )
        rows, decisions = self._score(workspace_id, history, clv, evaluation)
        with self.engine.begin() as conn:
            self._save_models(conn, workspace_id, history, clv, clv_note, evaluation)
            repo.replace_values(conn, workspace_id, rows)
            record_decisions(conn, decisions)
        return {
            "workspace_id": workspace_id,
            "profiles": len(rows),
            "clv": clv_params(clv) if clv else {"skipped": clv_note},
            "propensity": evaluation.as_dict(),
        }

    def fit_clv(self, workspace_id: str) -> ClvFit:
        """The CLV fit on the workspace's stored purchases (:class:`FitError` if it cannot)."""
        history = read_history(self.engine, self.reader, workspace_id, self.purchases)
        clv, note = self._fit_clv(history)
        if clv is None:
            raise FitError(note)
        return clv

    def _fit_clv(self, history: History) -> tuple[ClvFit | None, str]:
        ids, days, amounts = [], [], []
        for p in history.profiles:
            for a in p.activity:
                if a.name == self.events.purchase:
                    ids.append(p.id)
                    days.append(a.ts_ms / DAY_MS)
                    amounts.append(a.amount)
        end_day = float(history.end_ms // DAY_MS)
        customers = summarise(ids, days, amounts, end_day, self.settings.time_unit)
        try:
            bgnbd = fit_bgnbd(customers.summary)
        except FitError as exc:
            return None, str(exc)
        return ClvFit(bgnbd, self._fit_spend(customers, history), customers, new_id("clv_")), ""

    def _fit_spend(self, customers: Customers, history: History) -> dict[str, GammaGamma]:
        """Gamma-Gamma per currency (amounts in different currencies never mix)."""
        fitted = {}
        currency = np.array([history.currencies.get(str(i), "") for i in customers.ids])
        s = customers.summary
        for code in sorted(set(currency.tolist())):
            keep = currency == code
            part = type(s)(s.x[keep], s.t_x[keep], s.T[keep], s.spend[keep])
            try:
                fitted[code] = fit_gamma_gamma(part)
            except FitError:
                continue  # too few repeat buyers: their own mean spend is used
        return fitted

    def _score(
        self, workspace_id: str, history: History, clv: ClvFit | None, evaluation: Evaluation
    ) -> tuple[list[dict[str, Any]], list[Decision]]:
        at = now_ms()
        values = self._clv_values(clv, history) if clv else {}
        rows, decisions = [], []
        for profile in history.profiles:
            row: dict[str, Any] = {"profile_id": profile.id, "scored_ms": at}
            row |= values.get(profile.id, {})
            row["clv_version"] = clv.version if clv and profile.id in values else None
            feats = features(profile, history.end_ms, self.events)
            reasons: dict[str, list[dict[str, Any]]] = {}
            for target, model in evaluation.models.items():
                row[target] = round(float(model.predict([feats])[0]), 6)
                reasons[target] = [r.as_dict() for r in model.explain(feats)]
            row["reasons"] = reasons
            rows.append(row)
            if reasons:
                decisions.append(
                    _decision(workspace_id, profile.id, row, reasons, evaluation.scorer, at)
                )
        return rows, decisions

    def _clv_values(self, clv: ClvFit, history: History) -> dict[str, dict[str, Any]]:
        s, ids = clv.customers.summary, clv.customers.ids
        per_unit = unit_days(self.settings.time_unit)
        horizon = self.settings.horizon_days / per_unit
        steps = max(1, round(self.settings.horizon_days / (365.25 / MONTHS_PER_YEAR)))
        monthly = (1.0 + self.settings.annual_discount) ** (1 / MONTHS_PER_YEAR) - 1.0
        spend = self._expected_spend(clv, history)
        value = discounted_value(
            clv.bgnbd, spend, s.x, s.t_x, s.T, horizon=horizon, steps=steps, rate_per_step=monthly
        )
        expected = expected_purchases(clv.bgnbd, horizon, s.x, s.t_x, s.T)
        alive = p_alive(clv.bgnbd, s.x, s.t_x, s.T)
        return {
            str(pid): {
                "frequency": float(s.x[i]),
                "recency": round(float(s.t_x[i]), 4),
                "age": round(float(s.T[i]), 4),
                "monetary": round(float(s.spend[i]), 2),
                "currency": history.currencies.get(str(pid)) or None,
                "expected_purchases": round(float(expected[i]), 4),
                "p_alive": round(float(alive[i]), 4),
                "clv": round(float(value[i]), 2),
            }
            for i, pid in enumerate(ids)
        }

    def _expected_spend(self, clv: ClvFit, history: History) -> Floats:
        """Each customer's expected spend per purchase: Gamma-Gamma's where their currency has
        a fit, else their own mean (their first purchase's amount when they bought once)."""
        s, ids = clv.customers.summary, clv.customers.ids
        first = _first_amounts(history, self.events.purchase)
        out = np.array([first.get(str(i), 0.0) for i in ids], dtype=np.float64)
        out = np.where(s.x > 0, s.spend, out)
        for code, model in clv.spend.items():
            keep = np.array([history.currencies.get(str(i), "") == code for i in ids])
            out[keep] = model.expected_spend(s.x[keep], s.spend[keep])
        return out

    def _save_models(
        self,
        conn: Any,
        workspace_id: str,
        history: History,
        clv: ClvFit | None,
        clv_note: str,
        evaluation: Evaluation,
    ) -> None:
        at = history.end_ms
        if clv is not None:
            repo.save_model(
                conn, workspace_id, "clv", clv.version, at, clv_params(clv),
                {"customers": len(clv.customers.ids), "settings": self.settings.model_dump()},
            )  # fmt: skip
        for target in TARGETS:
            metrics = evaluation.as_dict() | {
                "target": target,
                "scored_by": evaluation.scorer.get(target),
                "decision_in_words": evaluation.decision.get(target),
            }
            model = evaluation.models.get(target)
            params = model.as_dict() if model else {"skipped": evaluation.skipped.get(target)}
            version = new_id("prp_")
            repo.save_model(
                conn, workspace_id, f"propensity:{target}", version, at, params, metrics
            )
        log.info("analytics refreshed %s (clv: %s)", workspace_id, clv_note or "fitted")


def clv_params(clv: ClvFit) -> dict[str, Any]:
    """The fitted CLV parameters as JSON-ready data."""
    return {
        "version": clv.version,
        "bgnbd": clv.bgnbd.as_dict(),
        "gamma_gamma": {code or "-": m.as_dict() for code, m in clv.spend.items()},
    }


def _first_amounts(history: History, purchase: str) -> dict[str, float]:
    out = {}
    for p in history.profiles:
        for a in p.activity:
            if a.name == purchase:
                out[p.id] = a.amount
                break
    return out


def _decision(
    workspace_id: str,
    profile_id: str,
    row: dict[str, Any],
    reasons: dict[str, list[dict[str, Any]]],
    scorer: dict[str, str],
    at: int,
) -> Decision:
    likelihoods = {t: row[t] for t in reasons}
    words = "; ".join(
        f"{t} {row[t]:.2f}: "
        + (", ".join(r["words"] for r in rs) or "no single feature stands out")
        for t, rs in reasons.items()
    )
    return Decision(
        workspace_id=workspace_id,
        kind="prediction",
        rule="analytics.propensity",
        version=",".join(f"{t}:{scorer.get(t, 'model')}" for t in reasons),
        reason=words,
        subject_profile_id=profile_id,
        score=max(likelihoods.values()),
        inputs={
            "likelihoods": likelihoods,
            "reasons": reasons,
            "scored_by": {t: scorer.get(t, "model") for t in reasons},
            "clv": row.get("clv"),
        },
        at_ms=at,
    )
