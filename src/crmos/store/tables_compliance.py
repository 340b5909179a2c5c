"""Compliance tables: workspace settings, pack versions, consent, data-subject requests, legal
holds, complaints and the regions of each profile. Migration ``0008_compliance`` mirrors them.

No column holds a raw identifier of a person: profiles are referred to by their pseudonymous id.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, String, Table, Text, UniqueConstraint

from crmos.store.tables import metadata

# One row per workspace: packs enabled, validators per trait, default region, locale, teams.
compliance_settings = Table(
    "compliance_settings",
    metadata,
    Column("workspace_id", String(40), primary_key=True),
    Column("config", Text, nullable=False, comment="JSON of the workspace's compliance settings"),
    Column("version", BigInteger, nullable=False, comment="1, 2, 3 ... one per change"),
    Column("updated_ms", BigInteger, nullable=False),
)

# Every version of a pack a workspace ever had in force; the newest effective one applies.
pack_versions = Table(
    "pack_versions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("pack", String(64), nullable=False),
    Column("version", String(80), nullable=False),
    Column("content_hash", String(64), nullable=False, comment="sha256 of the canonical spec"),
    Column("spec", Text, nullable=False, comment="the pack as canonical JSON"),
    Column("effective_ms", BigInteger, nullable=False, comment="in force from this time"),
    Column("published_ms", BigInteger, nullable=False),
    Column("enforced_ms", BigInteger, nullable=True, comment="first decision that applied it"),
    Column("published_by", String(200), nullable=False),
    UniqueConstraint("workspace_id", "pack", "version", name="uq_pack_versions_version"),
    Index("ix_pack_versions_effective", "workspace_id", "pack", "effective_ms"),
)

# Consent history: append-only; the newest row per (profile, purpose, channel) is in force.
consents = Table(
    "consents",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("profile_id", String(64), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("channel", String(32), nullable=False, comment="email, sms, phone, push ... or *"),
    Column("state", String(16), nullable=False, comment="granted | withdrawn"),
    Column("source", String(200), nullable=False, comment="where it was given: form, call ..."),
    Column("at_ms", BigInteger, nullable=False, comment="when the person gave or withdrew it"),
    Column("recorded_ms", BigInteger, nullable=False),
    Index("ix_consents_profile", "workspace_id", "profile_id", "purpose", "at_ms"),
)

# Data-subject requests and their proof-of-erasure / export reports (no identifiers inside).
dsr_requests = Table(
    "dsr_requests",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("profile_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False, comment="access|erasure|rectification|opt_out"),
    Column("status", String(16), nullable=False, comment="received|blocked|completed|failed"),
    Column("origin", String(200), nullable=False, comment="api, cli, or the event that asked"),
    Column("regions", String(200), nullable=False, comment="comma-separated region codes"),
    Column("packs", Text, nullable=False, comment="JSON: pack -> version that governs it"),
    Column("locale", String(16), nullable=False, comment="locale of the person's letters"),
    Column(
        "params",
        Text,
        nullable=False,
        comment="JSON: non-personal parameters (purposes of an opt-out)",
    ),
    Column("received_ms", BigInteger, nullable=False),
    Column("due_ms", BigInteger, nullable=False),
    Column("completed_ms", BigInteger, nullable=True),
    Column("reason", Text, nullable=True, comment="why it was blocked or failed"),
    Column("report", Text, nullable=True, comment="JSON proof-of-erasure or export summary"),
    Column("letters", Text, nullable=True, comment="JSON: locale -> rendered confirmation"),
    Index("ix_dsr_requests_status", "workspace_id", "status", "due_ms"),
    Index("ix_dsr_requests_profile", "workspace_id", "profile_id"),
)

legal_holds = Table(
    "legal_holds",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("profile_id", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("placed_by", String(200), nullable=False),
    Column("placed_ms", BigInteger, nullable=False),
    Column("released_ms", BigInteger, nullable=True),
    Index("ix_legal_holds_profile", "workspace_id", "profile_id"),
)

# Complaints with their response due time in the responsible team's business time.
complaints = Table(
    "complaints",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("profile_id", String(64), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("region", String(16), nullable=False),
    Column("pack", String(64), nullable=False, comment="the pack whose SLA applies"),
    Column("pack_version", String(80), nullable=False),
    Column("team", String(64), nullable=False),
    Column("received_ms", BigInteger, nullable=False),
    Column("due_ms", BigInteger, nullable=False),
    Column("answered_ms", BigInteger, nullable=True),
    UniqueConstraint("workspace_id", "message_id", name="uq_complaints_message"),
    Index("ix_complaints_due", "workspace_id", "due_ms"),
)

# Where each profile's data protection law comes from (country traits, phone region, address).
profile_regions = Table(
    "profile_regions",
    metadata,
    Column("workspace_id", String(40), nullable=False),
    Column("profile_id", String(64), nullable=False),
    Column("regions", String(200), nullable=False, comment="comma-separated, e.g. DE or US-CA"),
    Column("locale", String(16), nullable=True, comment="the person's preferred locale"),
    Column("updated_ms", BigInteger, nullable=False),
    UniqueConstraint("workspace_id", "profile_id", name="uq_profile_regions_profile"),
)
