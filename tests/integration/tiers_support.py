"""What the tier tests share: tiers that see a later clock, and what each tier holds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from crmos.bootstrap import Container
from crmos.core.clock import now_ms
from crmos.store import TierFiles, TierPolicy, Tiers
from crmos.store.tables import events
from crmos.store.tables_tiers import tier_files
from crmos.store.tiers_files import read_at

DAY_MS = 86_400_000


def later(
    container: Container, days: float, partitioned: bool | None = None, **policy: Any
) -> Tiers:
    """The container's tiers as they will run ``days`` from now (with ``policy`` changes), on
    the container's stream kind unless ``partitioned`` says which."""
    base = container.tiers
    changed = TierPolicy(**{**_fields(base.policy), **policy})
    shift = int(days * DAY_MS)
    return Tiers(
        base.engine,
        base.files,
        changed,
        base.consumers,
        clock=lambda: now_ms() + shift,
        partitioned=base.partitioned if partitioned is None else partitioned,
    )


def _fields(policy: TierPolicy) -> dict[str, Any]:
    return {name: getattr(policy, name) for name in policy.__slots__}


def hot_seqs(engine: Engine) -> list[int]:
    """Every seq still in the hot log."""
    with engine.connect() as conn:
        return list(conn.execute(select(events.c.seq).order_by(events.c.seq)).scalars())


def listed(engine: Engine, tier: str | None = None) -> list[Any]:
    """Manifest rows (of one tier)."""
    stmt = select(tier_files).order_by(tier_files.c.seq_lo)
    if tier is not None:
        stmt = stmt.where(tier_files.c.tier == tier)
    with engine.connect() as conn:
        return list(conn.execute(stmt).all())


def file_seqs(engine: Engine) -> list[int]:
    """Every seq in every listed file, read from the files themselves (duplicates kept)."""
    return sorted(s for row in listed(engine) for s in read_at(row.url).column("seq").to_pylist())


def hot_count(engine: Engine) -> int:
    """Events in hot."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(events)).scalar_one())


def parquet_files(files: TierFiles) -> set[str]:
    """Every Parquet file under the tiers' root, listed or not."""
    return {u for u in files.listing() if u.endswith(".parquet")}
