"""Batch-matching tables: each run of ``crmos identity match`` and the pairs it suggested.

A run keeps the trained model (Splink's settings with m and u, no personal values), so every
merge it made can be explained later. A suggestion keeps the pair, its probability, the
per-comparison evidence and what became of it (merged, sent to review, kept apart).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Integer, String, Table, Text

from crmos.store.tables import metadata

identity_match_runs = Table(
    "identity_match_runs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("started_ms", BigInteger, nullable=False),
    Column("finished_ms", BigInteger, nullable=False),
    Column("profiles", Integer, nullable=False, comment="profiles compared"),
    Column("pairs", Integer, nullable=False, comment="pairs at or above the review threshold"),
    Column("merged", Integer, nullable=False),
    Column("reviews", Integer, nullable=False),
    Column("auto_threshold", Float, nullable=False),
    Column("review_threshold", Float, nullable=False),
    Column("plan", Text, nullable=False, comment="JSON: compared traits and blocking rules"),
    Column("model", Text, nullable=False, comment="JSON: Splink settings with m and u"),
    Index("ix_identity_match_runs_workspace", "workspace_id", "started_ms"),
)

identity_match_suggestions = Table(
    "identity_match_suggestions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("run_id", String(40), nullable=False),
    Column("left_id", String(40), nullable=False, comment="profile kept on a merge"),
    Column("right_id", String(40), nullable=False),
    Column("probability", Float, nullable=False),
    Column("match_weight", Float, nullable=False),
    Column("evidence", Text, nullable=False, comment="JSON: comparison -> level and weight"),
    Column("outcome", String(16), nullable=False, comment="merged | review | kept_apart"),
    Column("merge_id", String(40), nullable=True),
    Column("review_id", String(40), nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_identity_match_suggestions_run", "workspace_id", "run_id"),
    Index("ix_identity_match_suggestions_pair", "workspace_id", "left_id", "right_id"),
)
