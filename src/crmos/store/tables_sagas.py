"""The tables of the sagas room: runs, their steps' current state, and the attempt timeline.

The durable execution state itself (which step finished with which output) lives in the DBOS
system database; these tables are what people and the API read: a run's status and reason, each
step's state, and one timeline row per attempt, compensation, awaited outcome or decision.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from crmos.store.tables import SeqType, metadata

saga_runs = Table(
    "saga_runs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("status", String(24), nullable=False, comment="queued|running|...|needs_attention"),
    Column("plan", Text, nullable=False, comment="JSON: the validated steps and input"),
    Column("reason", Text, nullable=True, comment="why it failed or needs attention"),
    Column("failed_step", String(100), nullable=True),
    Column("trace_id", String(32), nullable=False, comment="OpenTelemetry trace id (hex)"),
    Column("parent_span_id", String(16), nullable=False, comment="span the run hangs under"),
    Column("retry_of", String(40), nullable=True, comment="the run this one retries"),
    Column("origin", String(200), nullable=True, comment="what started it, e.g. a decision id"),
    Column("profile_id", String(40), nullable=True, comment="the subject profile it acts for"),
    Column("cancel_requested_ms", BigInteger, nullable=True),
    Column("executor_id", String(100), nullable=True, comment="worker that last ran it"),
    Column("created_ms", BigInteger, nullable=False),
    Column("started_ms", BigInteger, nullable=True),
    Column("ended_ms", BigInteger, nullable=True),
    Index("ix_saga_runs_workspace", "workspace_id", "created_ms"),
    Index("ix_saga_runs_status", "workspace_id", "status"),
    Index("ix_saga_runs_origin", "workspace_id", "origin"),
    Index("ix_saga_runs_profile", "workspace_id", "profile_id", "created_ms"),
)

saga_steps = Table(
    "saga_steps",
    metadata,
    Column("run_id", String(40), nullable=False),
    Column("step_id", String(100), nullable=False),
    Column("position", Integer, nullable=False),
    Column("action", String(100), nullable=False),
    Column("status", String(24), nullable=False, comment="pending|running|done|failed|..."),
    Column("attempts", Integer, nullable=False),
    Column("result", Text, nullable=True, comment="JSON returned by the action"),
    Column("error", Text, nullable=True),
    Column("compensation", String(24), nullable=True, comment="compensated|failed|none"),
    Column("outcome", String(32), nullable=True, comment="awaited outcome: delivered|timeout.."),
    Column("outcome_detail", Text, nullable=True, comment="JSON sent with the outcome"),
    Column("started_ms", BigInteger, nullable=True),
    Column("ended_ms", BigInteger, nullable=True),
    PrimaryKeyConstraint("run_id", "step_id"),
)

saga_timeline = Table(
    "saga_timeline",
    metadata,
    Column("id", SeqType, primary_key=True, autoincrement=True),
    Column("run_id", String(40), nullable=False),
    Column("step_id", String(100), nullable=False),
    Column("phase", String(16), nullable=False, comment="execute|compensate|outcome|decision"),
    Column("attempt", Integer, nullable=False),
    Column("status", String(24), nullable=False, comment="ok|transient|permanent|timeout|..."),
    Column("started_ms", BigInteger, nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("error", Text, nullable=True),
    Column("detail", Text, nullable=True, comment="JSON: result, outcome or decision inputs"),
    Column("span_id", String(16), nullable=True, comment="OpenTelemetry span of the attempt"),
    UniqueConstraint("run_id", "step_id", "phase", "attempt", name="uq_saga_timeline_attempt"),
    sqlite_autoincrement=True,
)
