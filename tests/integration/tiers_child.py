"""A process that moves and compacts tiers, saying each step on stdout, until it is killed.

``python -m tests.integration.tiers_child STORE_URL ROOT BATCH``: the parent reads the steps
(``start``, ``written``, ``commit``, ``moved``, ``compacted`` after each cold
archive, ``done``) and SIGKILLs this
process right after the one it aims at, so kills land before, between and after every write
and commit. The clock runs 40 days ahead, so every event is due for warm and then cold.
"""

from __future__ import annotations

import sys
from typing import Any

import pyarrow as pa
from sqlalchemy import event

from crmos.core.clock import now_ms
from crmos.core.settings import StoreSettings
from crmos.store import TierFiles, TierPolicy, Tiers, create_store_engine
from crmos.store.tiers_files import Written


def say(step: str) -> None:
    """Tell the parent which step was just reached."""
    print(step, flush=True)  # noqa: T201 - the parent reads it


class SayingFiles(TierFiles):
    """Tier files that say when a file was written and verified."""

    def write(self, relative: str, table: pa.Table) -> Written:
        done = super().write(relative, table)
        say("written")
        return done


class SayingTiers(Tiers):
    """Tiers that say when each cold archive was committed and its inputs deleted."""

    def _compact_group(self, inputs: list[Any]) -> int:
        done = super()._compact_group(inputs)
        say("compacted")
        return done


def main(url: str, root: str, batch: int) -> None:
    engine = create_store_engine(StoreSettings(url=url))
    event.listen(engine, "commit", lambda *_: say("commit"))  # just before the commit
    policy = TierPolicy(batch=batch, orphan_grace_s=10**9)
    later = 40 * 86_400_000
    tiers = SayingTiers(engine, SayingFiles(root), policy, (), clock=lambda: now_ms() + later)
    while True:
        say("start")
        if tiers.move_once():
            say("moved")
            continue
        if tiers.compact():
            continue
        say("done")
        return


if __name__ == "__main__":
    args: list[Any] = sys.argv[1:]
    main(args[0], args[1], int(args[2]))
