"""``crmos profiles``: list and search live profiles, and rebuild their search index."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import Connection

from crmos.cli.common import console, container, find_workspace
from crmos.compliance import profiles_with_consent
from crmos.compliance.consent import ConsentState
from crmos.graph import members, profiles_scoring
from crmos.identity import (
    ProfileFilters,
    ProfilePage,
    Sort,
    catch_up,
    reindex_workspace,
    roots_of,
    search_profiles,
)

app = typer.Typer(help="Profiles: list, search, reindex.", no_args_is_help=True)

WorkspaceOpt = Annotated[str | None, typer.Option(help="Workspace name.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
TouchpointOpt = Annotated[str | None, typer.Option(help="Only profiles seen through it.")]
SortOpt = Annotated[
    str, typer.Option(help="last_seen or created; a leading '-' sorts newest first.")
]
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
    sort: SortOpt = "-last_seen",
    limit: LimitOpt = 50,
    cursor: CursorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List live profiles, most recently seen first; filters narrow the list."""
    filters = ProfileFilters(touchpoint, _ms(seen_after), _ms(seen_before), suppressed, open_review)
    other = Others(audience, role, min_score, _consent(consent))
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
    sort: SortOpt = "-last_seen",
    limit: LimitOpt = 50,
    cursor: CursorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Find live profiles: every word of QUERY must match (Chinese by character or pair)."""
    filters = ProfileFilters(touchpoint, _ms(seen_after), _ms(seen_before), suppressed, open_review)
    other = Others(audience, role, min_score, _consent(consent))
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
    other: Others,
    sort: str,
    cursor: str | None,
    limit: int,
) -> ProfilePage:
    with container() as c:
        ws = find_workspace(c, workspace)
        key = c.vault.search_key(ws.id)
        catch_up(c.engine, key, ws.id)
        with c.engine.connect() as conn:
            filters = replace(filters, within=other.within(conn, ws.id))
            sort_: Sort = sort  # type: ignore[assignment]  # search_profiles checks it
            return search_profiles(conn, key, ws.id, query, filters, sort_, cursor, limit)


@dataclass(frozen=True, slots=True)
class Others:
    """Filters on facts other rooms own (audiences, role scores, consent), answered by them as
    sets of live profiles, as ``GET /api/v1/profiles`` does."""

    audience: str | None
    role: str | None
    min_score: float
    consent: tuple[str, str, ConsentState] | None

    def within(self, conn: Connection, workspace_id: str) -> frozenset[str] | None:
        """The live profiles every given filter allows (None: no such filter)."""
        sets: list[set[str]] = []
        if self.audience is not None:
            sets.append(_members(conn, workspace_id, self.audience))
        if self.role is not None:
            scoring = profiles_scoring(conn, workspace_id, self.role, self.min_score)
            sets.append(roots_of(conn, workspace_id, scoring))
        if self.consent is not None:
            held = profiles_with_consent(conn, workspace_id, *self.consent)
            sets.append(roots_of(conn, workspace_id, held))
        return frozenset(set.intersection(*sets)) if sets else None


def _members(conn: Connection, workspace_id: str, audience_id: str) -> set[str]:
    out: set[str] = set()
    after = ""
    while True:
        ids = [
            m["profile_id"] for m in members(conn, workspace_id, audience_id, 10_000, after)["data"]
        ]
        out.update(ids)
        if len(ids) < 10_000:
            return out
        after = ids[-1]


def _consent(text: str | None) -> tuple[str, str, ConsentState] | None:
    if text is None:
        return None
    parts = text.split(":")
    if len(parts) != 3 or not all(parts) or parts[2] not in ("granted", "withdrawn"):
        raise typer.BadParameter("use PURPOSE:CHANNEL:STATE, e.g. marketing:email:granted")
    purpose, channel, state = parts
    return purpose, channel, state  # type: ignore[return-value]  # checked just above


def _show(page: ProfilePage, as_json: bool) -> None:
    if as_json:
        print(json.dumps(page.as_dict(), ensure_ascii=False, indent=2))  # noqa: T201
        return
    table = Table("id", "name", "e-mail", "phone", "account", "last seen", "events")
    table.columns[0].no_wrap = True  # ids are never cut, even when piped
    table.columns[0].min_width = 30
    for s in page.data:
        table.add_row(
            s.id, s.name or "", s.email or "", s.phone or "", s.account or "",
            _date(s.last_seen_ms), str(s.events),
        )  # fmt: skip
    console.print(table)
    if page.next_cursor:
        console.print(f"more: --cursor {page.next_cursor}", highlight=False, soft_wrap=True)


def _date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def _ms(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
