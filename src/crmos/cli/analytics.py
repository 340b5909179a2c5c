"""``crmos analytics``: customer lifetime value fits and each profile's value and likelihoods."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from crmos.analytics import (
    FitError,
    clv_params,
    day_of,
    epoch_days,
    fit_bgnbd,
    fit_gamma_gamma,
    profile_value,
    summarise,
)
from crmos.cli.common import console, container, exit_on_error, find_workspace
from crmos.core.errors import ValidationError

app = typer.Typer(help="Lifetime value and propensity models.", no_args_is_help=True)
clv_app = typer.Typer(help="Customer lifetime value (BG/NBD + Gamma-Gamma).", no_args_is_help=True)
app.add_typer(clv_app, name="clv")

WorkspaceOpt = Annotated[str | None, typer.Option(help="Workspace name.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@clv_app.command("fit")
def fit(
    file: Annotated[
        Path | None,
        typer.Argument(help="Transactions: CSV, or whitespace-separated with --sep ' '."),
    ] = None,
    customer_column: Annotated[str, typer.Option(help="Column of customer ids.")] = "customer_id",
    date_column: Annotated[
        str, typer.Option(help="Column of dates (YYYY-MM-DD or YYYYMMDD).")
    ] = "date",
    amount_column: Annotated[
        str | None, typer.Option(help="Column of amounts (Gamma-Gamma).")
    ] = None,
    time_unit: Annotated[str, typer.Option(help="D (day), W (week) or M (month).")] = "W",
    calibration_end: Annotated[
        str | None, typer.Option(help="Last day of the fit (default: the last date).")
    ] = None,
    sep: Annotated[str, typer.Option(help="Field separator; ' ' for any whitespace.")] = ",",
    no_header: Annotated[
        bool, typer.Option("--no-header", help="Columns are numbered 0, 1, ...")
    ] = False,
    workspace: Annotated[
        str | None, typer.Option(help="Fit on this workspace's stored purchases instead of a file.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Fit BG/NBD and Gamma-Gamma on a transaction file, or on a workspace's stored events."""
    with exit_on_error():
        if workspace is not None:
            result = _fit_workspace(workspace)
        elif file is not None:
            frame = _read(file, sep, no_header)
            result = _fit_frame(
                frame, customer_column, date_column, amount_column, time_unit, calibration_end
            )
        else:
            raise ValidationError("give a transaction FILE or --workspace")
    if as_json:
        print(json.dumps(result))  # noqa: T201
        return
    for model, params in result.items():
        if isinstance(params, dict):
            shown = ", ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
            )
            console.print(f"[bold]{model}[/]: {shown}", highlight=False)
        else:
            console.print(f"[bold]{model}[/]: {params}", highlight=False)


def _read(file: Path, sep: str, no_header: bool) -> pd.DataFrame:
    header = None if no_header else "infer"
    try:
        frame = pd.read_csv(file, sep=r"\s+" if sep == " " else sep, header=header, dtype=str)
    except (OSError, ValueError) as exc:
        raise ValidationError(f"cannot read {file}: {exc}") from exc
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _fit_frame(
    frame: pd.DataFrame, customer: str, date: str, amount: str | None, unit: str, end: str | None
) -> dict[str, Any]:
    missing = [c for c in (customer, date, amount) if c is not None and c not in frame.columns]
    if missing:
        raise ValidationError(
            f"no column {', '.join(missing)}; the file has {', '.join(frame.columns)}"
        )
    days = epoch_days(frame[date].tolist())
    end_day = day_of(end) if end else float(days.max())
    values = pd.to_numeric(frame[amount]) if amount else pd.Series(0.0, index=frame.index)
    customers = summarise(frame[customer].to_numpy(), days, values.to_numpy(float), end_day, unit)
    result: dict[str, Any] = {
        "customers": len(customers.ids),
        "bgnbd": fit_bgnbd(customers.summary).as_dict(),
    }
    if amount:
        try:
            result["gamma_gamma"] = fit_gamma_gamma(customers.summary).as_dict()
        except FitError as exc:
            result["gamma_gamma"] = {"skipped": str(exc)}
    return result


def _fit_workspace(name: str) -> dict[str, Any]:
    with container() as c:
        ws = find_workspace(c, name)
        assert c.analytics is not None  # built by bootstrap
        fitted = c.analytics.fit_clv(ws.id)
    params = clv_params(fitted)
    spend = params["gamma_gamma"]
    return {
        "customers": len(fitted.customers.ids),
        "bgnbd": params["bgnbd"],
        # One currency: its parameters as they are; several: by currency code.
        "gamma_gamma": next(iter(spend.values())) if len(spend) == 1 else spend,
        "version": params["version"],
    }


@app.command("refresh")
def refresh(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Refit the workspace's CLV and propensity models and rescore every profile now."""
    with container() as c:
        ws = find_workspace(c, workspace)
        assert c.analytics is not None
        report = c.analytics.refresh(ws.id)
    if as_json:
        print(json.dumps(report))  # noqa: T201
        return
    console.print(f"scored {report['profiles']} profiles of {ws.name}", highlight=False)
    console.print(f"clv: {json.dumps(report['clv'])}", highlight=False)
    console.print(f"propensity: {json.dumps(report['propensity'])}", highlight=False)


@app.command("value")
def value(profile_id: str, workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """A profile's lifetime value, P(alive) and likelihoods with their reasons."""
    with container() as c:
        ws = find_workspace(c, workspace)
        with c.engine.connect() as conn:
            found = profile_value(conn, ws.id, profile_id)
    if as_json:
        print(json.dumps(found, ensure_ascii=False))  # noqa: T201
        return
    clv = found["clv"]
    console.print(
        f"CLV {clv['clv']} {clv['currency'] or ''}  P(alive) {clv['p_alive']}  "
        f"expected purchases {clv['expected_purchases']}",
        highlight=False,
    )
    for target, p in found["propensity"].items():
        why = "; ".join(r["words"] for r in p["reasons"]) or "no single feature stands out"
        console.print(f"{target}: {p['probability']:.2f} ({why})", highlight=False)
