"""Identity: identifier normalisation, real-time stitching, conflict guards, merges and splits,
the review queue, and batch matching. Imports core, store and ingest only.
"""

from crmos.identity.activity import EventMark, event_marks, event_sources, profile_tree
from crmos.identity.erasure import DATA_MAP, IdentityEraser, erase_profile
from crmos.identity.identifiers import BUILTIN_TYPES, Identifier, Rejection, normalise
from crmos.identity.merges import SplitResult, merge_profiles, split_profile
from crmos.identity.policy import IdentityPolicy, build_policy
from crmos.identity.reviews import (
    get_review,
    list_reviews,
    open_review,
    repair_conflicts,
    resolve_review,
)
from crmos.identity.search import (
    ProfileFilters,
    ProfilePage,
    ProfileSummary,
    Sort,
    profile_summaries,
    roots_of,
    search_profiles,
)
from crmos.identity.search_index import (
    SearchIndexer,
    catch_up,
    has_pending,
    index_pending,
    reindex_workspace,
)
from crmos.identity.stitcher import Stitcher
from crmos.identity.views import merges_of, normalised, profile_of, profile_view

__all__ = [
    "BUILTIN_TYPES",
    "DATA_MAP",
    "EventMark",
    "Identifier",
    "IdentityEraser",
    "IdentityPolicy",
    "ProfileFilters",
    "ProfilePage",
    "ProfileSummary",
    "Rejection",
    "SearchIndexer",
    "Sort",
    "SplitResult",
    "Stitcher",
    "build_policy",
    "catch_up",
    "erase_profile",
    "event_marks",
    "event_sources",
    "get_review",
    "has_pending",
    "index_pending",
    "list_reviews",
    "merge_profiles",
    "merges_of",
    "normalise",
    "normalised",
    "open_review",
    "profile_of",
    "profile_summaries",
    "profile_tree",
    "profile_view",
    "reindex_workspace",
    "repair_conflicts",
    "resolve_review",
    "roots_of",
    "search_profiles",
    "split_profile",
]
