"""``crmos profiles``: list and search live profiles, and rebuild their search index."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from crmos.cli.common import console, container, find_workspace
from crmos.compliance.consent import ConsentState
from crmos.core.errors import ValidationError
from crmos.identity import ProfileFilters, reindex_workspace
from crmos.profile_listing import (
    CONSENT_HELP,
    SORT_HELP,
    OtherFilters,
    epoch_ms,
    find_profiles,
    parse_consent,
    with_values,
)

app = typer.Typer(help="Profiles: list, search, reindex.", no_args_is_help=True)

WorkspaceOpt = Annotated[str | None, typer.Option(help="Workspace name.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
TouchpointOpt = Annotated[str | None, typer.Option(help="Only profiles seen through it.")]
SortOpt = Annotated[str, typer.Option(help=SORT_HELP)]
ValueOpt = Annotated[float | None, typer.Option(min=0.0, help="Predicted lifetime value bound.")]
ChurnOpt = Annotated[float | None, typer.Option(min=0.0, max=1.0, help="Churn likelihood bound.")]
LimitOpt = Annotated[int, typer.Option(min=1, max=200, help="Profiles per page.")]
CursorOpt = Annotated[str | None, typer.Option(help="next_cursor of the previous page.")]
SuppressedOpt = Annotated[
    bool | None,
    typer.Option("--suppressed/--not-suppressed", help="Marketing paused, or not."),
]
ReviewOpt = Annotated[
    bool | None, typer.Option("--open-review/--no-open-review", help="With an open review.")
]
SeenOpt = Annotated[datetime | None, typer.Option(help="Last seen at or after (ISO 8601).")]
BeforeOpt = Annotated[datetime | None, typer.Option(help="Last seen before (ISO 8601).")]
AudienceOpt = Annotated[str | None, typer.Option(help="Only members of this audience (its id).")]
RoleOpt = Annotated[
    str | None,
    typer.Option(help="Only profiles whose confidence in this role reaches --min-score."),
]
MinScoreOpt = Annotated[float, typer.Option(min=0.0, max=1.0, help="The confidence --role needs.")]
ConsentOpt = Annotated[
    str | None,
    typer.Option(
        help="PURPOSE:CHANNEL:STATE (granted or withdrawn), e.g. marketing:email:granted."
    ),
]


@app.command("list")
def list_(
    workspace: WorkspaceOpt = None,
    touchpoint: TouchpointOpt = None,
    suppressed: SuppressedOpt = None,
    open_review: ReviewOpt = None,
    seen_after: SeenOpt = None,
    seen_before: BeforeOpt = None,
    audience: AudienceOpt = None,
    role: RoleOpt = None,
    min_score: MinScoreOpt = 0.5,
    consent: ConsentOpt = None,
    clv_min: ValueOpt = None,
    clv_max: ValueOpt = None,
    churn_min: ChurnOpt = None,
    churn_max: ChurnOpt = None,
    sort: SortOpt = "-last_seen",
    limit: LimitOpt = 50,
    cursor: CursorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List live profiles, most recently seen first; filters narrow the list."""
    filters = ProfileFilters(
        touchpoint, epoch_ms(seen_after), epoch_ms(seen_before), suppressed, open_review
    )
    other = _others(
        audience, role, min_score, _consent(consent), clv_min, clv_max, churn_min, churn_max
    )
    _show(_page(workspace, "", filters, other, sort, cursor, limit), as_json)


@app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="Name, e-mail or its start, phone, id, account.")],
    workspace: WorkspaceOpt = None,
    touchpoint: TouchpointOpt = None,
    suppressed: SuppressedOpt = None,
    open_review: ReviewOpt = None,
    seen_after: SeenOpt = None,
    seen_before: BeforeOpt = None,
    audience: AudienceOpt = None,
    role: RoleOpt = None,
    min_score: MinScoreOpt = 0.5,
    consent: ConsentOpt = None,
    clv_min: ValueOpt = None,
    clv_max: ValueOpt = None,
    churn_min: ChurnOpt = None,
    churn_max: ChurnOpt = None,
    sort: SortOpt = "-last_seen",
    limit: LimitOpt = 50,
    cursor: CursorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Find live profiles: every word of QUERY must match (Chinese by character or pair)."""
    filters = ProfileFilters(
        touchpoint, epoch_ms(seen_after), epoch_ms(seen_before), suppressed, open_review
    )
    other = _others(
        audience, role, min_score, _consent(consent), clv_min, clv_max, churn_min, churn_max
    )
    _show(_page(workspace, query, filters, other, sort, cursor, limit), as_json)


@app.command("reindex")
def reindex(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Rebuild the workspace's search index from identity's tables (after an upgrade, or a
    change of the master key)."""
    with container() as c:
        ws = find_workspace(c, workspace)
        with c.engine.begin() as conn:
            count = reindex_workspace(conn, c.vault.search_key(ws.id), ws.id)
    if as_json:
        print(json.dumps({"workspace": ws.name, "profiles": count}))  # noqa: T201
    else:
        console.print(f"indexed {count} profiles of {ws.name}")


def _page(
    workspace: str | None,
    query: str,
    filters: ProfileFilters,
    other: OtherFilters,
    sort: str,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    with container() as c:
        ws = find_workspace(c, workspace)
        page = find_profiles(c.engine, c.vault, ws.id, query, filters, other, sort, cursor, limit)
        return with_values(c.engine, ws.id, page)


def _others(*args: Any) -> OtherFilters:
    try:
        return OtherFilters(*args)
    except ValidationError as exc:
        raise typer.BadParameter(exc.message) from None


def _consent(text: str | None) -> tuple[str, str, ConsentState] | None:
    try:
        return parse_consent(text)
    except ValidationError:
        raise typer.BadParameter(CONSENT_HELP) from None


def _show(page: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(page, ensure_ascii=False, indent=2))  # noqa: T201
        return
    table = Table("id", "name", "e-mail", "phone", "account", "last seen", "events", "clv")
    table.columns[0].no_wrap = True  # ids are never cut, even when piped
    table.columns[0].min_width = 30
    for p in page["data"]:
        table.add_row(
            p["id"], p["name"] or "", p["email"] or "", p["phone"] or "", p["account"] or "",
            _date(p["last_seen_ms"]), str(p["events"]), "" if p["clv"] is None else str(p["clv"]),
        )  # fmt: skip
    console.print(table)
    if page["next_cursor"]:
        console.print(f"more: --cursor {page['next_cursor']}", highlight=False, soft_wrap=True)


def _date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")
