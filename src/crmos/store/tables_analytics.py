"""The tables of the analytics room: each workspace's fitted models (CLV and propensity) and
each profile's latest value and likelihoods with their reasons.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, String, Table, Text

from crmos.store.tables import metadata

analytics_models = Table(
    "analytics_models",
    metadata,
    Column("workspace_id", String(40), primary_key=True),
    Column("kind", String(40), primary_key=True, comment="clv, or propensity:<target>"),
    Column("version", String(40), nullable=False, comment="changes with every fit"),
    Column("fitted_ms", BigInteger, nullable=False),
    Column("params", Text, nullable=False, comment="JSON: fitted parameters and settings"),
    Column("metrics", Text, nullable=False, comment="JSON: fit size, held-out AUC ..."),
)

analytics_values = Table(
    "analytics_values",
    metadata,
    # Profile ids are unique across workspaces: conditions look values up by id alone.
    Column("profile_id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("scored_ms", BigInteger, nullable=False),
    Column("clv_version", String(40), nullable=True),
    Column("frequency", Float, nullable=True, comment="repeat purchase days (x)"),
    Column("recency", Float, nullable=True, comment="t_x, time units from first purchase"),
    Column("age", Float, nullable=True, comment="T, time units from first purchase to scoring"),
    Column("monetary", Float, nullable=True, comment="mean repeat purchase amount"),
    Column("currency", String(8), nullable=True),
    Column("expected_purchases", Float, nullable=True),
    Column("p_alive", Float, nullable=True),
    Column("clv", Float, nullable=True, comment="discounted expected spend over the horizon"),
    Column("churn", Float, nullable=True),
    Column("renewal", Float, nullable=True),
    Column("purchase", Float, nullable=True),
    Column("reasons", Text, nullable=False, comment="JSON: per target, top features"),
    Index("ix_analytics_values_clv", "workspace_id", "clv"),
)
