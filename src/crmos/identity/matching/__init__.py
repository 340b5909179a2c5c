"""Batch probabilistic matching with Splink on DuckDB: CSV files, and a workspace's profiles.
Splink is extended only in ``em`` (see its docstring); everything else uses Splink's public API.
"""

from crmos.identity.matching.evidence import Suggestion
from crmos.identity.matching.files import MatchReport, dedupe_file, link_files
from crmos.identity.matching.splink import EngineOptions
from crmos.identity.matching.store import WorkspaceMatch, match_workspace, plan_dict

__all__ = [
    "EngineOptions",
    "MatchReport",
    "Suggestion",
    "WorkspaceMatch",
    "dedupe_file",
    "link_files",
    "match_workspace",
    "plan_dict",
]
