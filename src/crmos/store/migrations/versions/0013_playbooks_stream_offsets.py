"""playbooks: the trigger consumer reads what the stream hands it (no own cursor, no launcher)

The trigger consumer used to keep its own cursor (``triggers.cursor``) behind identity's
offset, and a ``playbook-launcher`` consumer followed it. The stream now never hands a consumer
an event the one before it has not handled, and runs start right after the firing commits, so
both positions go. Events between the old cursor and the ``triggers`` offset were never
evaluated: the ``triggers`` offset moves back to the cursor so the stream hands them in again
(a firing is unique per playbook and event, so nothing fires twice).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_offsets = sa.table(
    "stream_offsets",
    sa.column("consumer", sa.String),
    sa.column("seq", sa.BigInteger),
    sa.column("updated_ms", sa.BigInteger),
)


def upgrade() -> None:
    conn = op.get_bind()
    c = _offsets.c
    seqs = dict(
        conn.execute(
            sa.select(c.consumer, c.seq).where(c.consumer.in_(["triggers", "triggers.cursor"]))
        ).all()
    )
    cursor, offset = seqs.get("triggers.cursor"), seqs.get("triggers")
    if cursor is not None and offset is not None and cursor < offset:
        conn.execute(sa.update(_offsets).where(c.consumer == "triggers").values(seq=cursor))
    conn.execute(
        sa.delete(_offsets).where(c.consumer.in_(["triggers.cursor", "playbook-launcher"]))
    )


def downgrade() -> None:
    # The old code starts its cursor at 0 when it has none and skips what already fired; put
    # the cursor where the stream's offset is so it does not re-read the whole log.
    conn = op.get_bind()
    c = _offsets.c
    offset = conn.execute(sa.select(c.seq).where(c.consumer == "triggers")).scalar()
    if offset is not None:
        now_ms = int(time.time() * 1000)
        conn.execute(
            sa.insert(_offsets).values(consumer="triggers.cursor", seq=offset, updated_ms=now_ms)
        )
