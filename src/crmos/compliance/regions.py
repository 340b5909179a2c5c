"""The regions (and preferred locale) of each profile, kept up to date from identify events."""

from __future__ import annotations

from sqlalchemy import Connection, select

from crmos.compliance.jurisdiction import regions_of
from crmos.core.clock import now_ms
from crmos.identity import traits_of
from crmos.store.tables_compliance import profile_regions


def remember_regions(
    conn: Connection,
    workspace_id: str,
    profile_id: str,
    regions: tuple[str, ...],
    locale: str | None,
) -> None:
    """Store a profile's regions and locale (merging with what is known)."""
    t = profile_regions
    row = conn.execute(
        select(t.c.regions, t.c.locale).where(
            t.c.workspace_id == workspace_id, t.c.profile_id == profile_id
        )
    ).one_or_none()
    now = now_ms()
    if row is None:
        conn.execute(
            t.insert().values(
                workspace_id=workspace_id,
                profile_id=profile_id,
                regions=",".join(regions),
                locale=locale,
                updated_ms=now,
            )
        )
        return
    merged = ",".join(sorted({*regions, *filter(None, row.regions.split(","))}))
    if merged != row.regions or (locale and locale != row.locale):
        conn.execute(
            t.update()
            .where(t.c.workspace_id == workspace_id, t.c.profile_id == profile_id)
            .values(regions=merged, locale=locale or row.locale, updated_ms=now)
        )


def regions_for(
    conn: Connection, workspace_id: str, profile_id: str, default: str | None
) -> tuple[str, ...]:
    """A profile's regions: recorded ones, else its identity traits, else ``default``."""
    stored = stored_regions(conn, workspace_id, profile_id)
    if stored[0]:
        return stored[0]
    traits = traits_of(conn, workspace_id, profile_id)
    return regions_of(traits, default)


def stored_regions(
    conn: Connection, workspace_id: str, profile_id: str
) -> tuple[tuple[str, ...], str | None]:
    """The recorded regions and locale of a profile (empty, None when unknown)."""
    t = profile_regions
    row = conn.execute(
        select(t.c.regions, t.c.locale).where(
            t.c.workspace_id == workspace_id, t.c.profile_id == profile_id
        )
    ).one_or_none()
    if row is None:
        return (), None
    return tuple(r for r in row.regions.split(",") if r), row.locale
