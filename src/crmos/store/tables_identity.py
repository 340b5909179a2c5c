"""Identity tables: profiles, their identifiers and events, merges, conflicts, review tickets.

A profile that was merged keeps its row: ``root_id`` names the live profile it resolves to and
``merged_into`` the profile it was merged into (the merge tree a split walks). Identifiers and
events keep the profile they first joined (``profile_id``) for good, so a split hands each side
back exactly what it brought.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
)

from crmos.store.tables import SeqType, metadata

profiles = Table(
    "profiles",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("root_id", String(40), nullable=False, comment="the live profile this resolves to"),
    Column("merged_into", String(40), nullable=True, comment="parent in the merge tree"),
    Column("merge_id", String(40), nullable=True, comment="the merge that absorbed it"),
    Column("traits", Text, nullable=False, comment="JSON {name: [value, source, ts_ms]}"),
    Column("marketing_suppressed", Boolean, nullable=False, default=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Index("ix_profiles_root", "root_id"),
    Index("ix_profiles_workspace", "workspace_id", "created_ms"),
)

profile_identifiers = Table(
    "profile_identifiers",
    metadata,
    Column("workspace_id", String(40), primary_key=True),
    Column("type", String(40), primary_key=True),
    Column("value", String(255), primary_key=True),
    Column("profile_id", String(40), nullable=False, comment="the profile it first joined"),
    Column("source", String(64), nullable=False, comment="touchpoint that first reported it"),
    Column("seq", BigInteger, nullable=True, comment="event that first reported it"),
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_profile_identifiers_profile", "profile_id"),
    # SQLite: rows live in the primary-key b-tree itself, one b-tree fewer per insert.
    sqlite_with_rowid=False,
)

# One row per event the stitcher attributed; `traits` is the event's trait statement, so the
# rows with traits are the trait history (which source said what, when).
profile_events = Table(
    "profile_events",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=False),
    Column("workspace_id", String(40), nullable=False),
    Column("profile_id", String(40), nullable=False, comment="the profile it first joined"),
    Column("source", String(64), nullable=False),
    Column("ts_ms", BigInteger, nullable=False),
    Column("traits", Text, nullable=True, comment="JSON trait statement, if any"),
    Index("ix_profile_events_profile", "profile_id"),
)

identity_merges = Table(
    "identity_merges",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("survivor_id", String(40), nullable=False),
    Column("other_id", String(40), nullable=False),
    Column("reason", String(200), nullable=False),
    Column("evidence", Text, nullable=False, comment="JSON: linking identifiers and events"),
    Column("actor", String(200), nullable=False, comment="stream, api key id, matcher ..."),
    Column("created_ms", BigInteger, nullable=False),
    Column("split_ms", BigInteger, nullable=True),
    Column("split_reason", String(500), nullable=True),
    Column("split_by", String(200), nullable=True),
    Index("ix_identity_merges_survivor", "workspace_id", "survivor_id"),
    Index("ix_identity_merges_other", "other_id"),
)

# Identity's change feed (``crmos.identity.changes``): one fact per merge and per split, numbered
# by ``seq``, which is never given twice: other rooms follow identity by sequence, not by time.
identity_changes = Table(
    "identity_changes",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("workspace_id", String(40), nullable=False),
    Column("kind", String(8), nullable=False, comment="merge | split"),
    Column("merge_id", String(40), nullable=False),
    Column("survivor_id", String(40), nullable=False),
    Column("other_id", String(40), nullable=False, comment="merged away, or restored by a split"),
    Column("at_ms", BigInteger, nullable=False),
    Index("ix_identity_changes_workspace", "workspace_id", "seq"),
    sqlite_autoincrement=True,
)

identity_conflicts = Table(
    "identity_conflicts",
    metadata,
    Column("id", SeqType, primary_key=True, autoincrement=True),
    Column("workspace_id", String(40), nullable=False),
    Column("kind", String(16), nullable=False, comment="limit | account"),
    Column("identifier_type", String(40), nullable=False),
    Column("identifier_value", String(255), nullable=False),
    Column("owner_id", String(40), nullable=True, comment="profile holding the identifier"),
    Column("owner_account", String(255), nullable=True),
    Column("owner_source", String(64), nullable=True),
    Column("claimant_id", String(40), nullable=True, comment="profile the event went to"),
    Column("claimant_account", String(255), nullable=True),
    Column("source", String(64), nullable=False, comment="touchpoint of the claiming event"),
    Column("seq", BigInteger, nullable=True),
    Column("evidence", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Index(
        "ix_identity_conflicts_identifier", "workspace_id", "identifier_type", "identifier_value"
    ),
    sqlite_autoincrement=True,
)

identity_rejections = Table(
    "identity_rejections",
    metadata,
    Column("id", SeqType, primary_key=True, autoincrement=True),
    Column("workspace_id", String(40), nullable=False),
    Column("type", String(40), nullable=False),
    Column("value", String(255), nullable=False, comment="the raw value, cut to 255"),
    Column("reason", String(300), nullable=False),
    Column("path", String(200), nullable=False, comment="where in the event, e.g. traits.phone"),
    Column("source", String(64), nullable=False),
    Column("seq", BigInteger, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_identity_rejections_workspace", "workspace_id", "id"),
    sqlite_autoincrement=True,
)

# Review tickets: identifier conflicts (scenario 6) and batch-match suggestions share a queue.
identity_reviews = Table(
    "identity_reviews",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("kind", String(16), nullable=False, comment="conflict | match"),
    Column("status", String(16), nullable=False, comment="open | resolved | approved | rejected"),
    Column("subject_profiles", Text, nullable=False, comment="JSON list of profile ids"),
    Column("identifier_type", String(40), nullable=True),
    Column("identifier_value", String(255), nullable=True),
    Column("score", Float, nullable=True, comment="match probability, for kind=match"),
    Column("evidence", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("resolved_ms", BigInteger, nullable=True),
    Column("decision", String(16), nullable=True),
    Column("note", String(1000), nullable=True),
    Column("actor", String(200), nullable=True),
    Index("ix_identity_reviews_queue", "workspace_id", "status", "kind"),
)

# Per workspace: settings overriding `identity.*`, and an epoch bumped by every merge, split
# and config change, so in-memory caches of other writers know to drop what they hold.
identity_workspaces = Table(
    "identity_workspaces",
    metadata,
    Column("workspace_id", String(40), primary_key=True),
    Column("config", Text, nullable=False, comment="JSON override of identity settings"),
    Column("epoch", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)

# Search (issue 16): a keyed blind index instead of clear text. ``token`` is a truncated
# HMAC-SHA256 of a normalised token or prefix under the workspace's search key, so the table
# holds no personal data in the clear, and one workspace's key finds nothing of another's.
# Rows belong to the live profile; its whole tree is re-indexed whenever anything in it changes.
profile_search_tokens = Table(
    "profile_search_tokens",
    metadata,
    Column("workspace_id", String(40), primary_key=True),
    Column("token", LargeBinary(16), primary_key=True, comment="HMAC of a token, keyed"),
    Column("profile_id", String(40), primary_key=True, comment="the live profile"),
    Index("ix_profile_search_tokens_profile", "profile_id"),
    sqlite_with_rowid=False,
)

# One row per live profile: what listing sorts and filters on without reading the event log.
profile_search_rows = Table(
    "profile_search_rows",
    metadata,
    Column("workspace_id", String(40), nullable=False),
    Column("profile_id", String(40), primary_key=True, comment="the live profile"),
    Column("created_ms", BigInteger, nullable=False),
    Column("last_seen_ms", BigInteger, nullable=False, comment="newest event of the tree"),
    Column("events", BigInteger, nullable=False, comment="events of the tree"),
    Index("ix_profile_search_rows_seen", "workspace_id", "last_seen_ms", "profile_id"),
    Index("ix_profile_search_rows_created", "workspace_id", "created_ms", "profile_id"),
)

# Profiles whose search entries are stale: identity's writers mark them in their own
# transaction (cheap), whoever holds the workspace's key re-indexes them (see identity.search).
profile_search_pending = Table(
    "profile_search_pending",
    metadata,
    Column("workspace_id", String(40), primary_key=True),
    Column("profile_id", String(40), primary_key=True),
    sqlite_with_rowid=False,
)
