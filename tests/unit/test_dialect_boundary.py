"""Dialect code lives in crmos.store only: no other module branches on the SQL backend or
spells SQLite- or PostgreSQL-only SQL (they call the store's functions instead)."""

from __future__ import annotations

import ast
from pathlib import Path

import crmos

ROOT = Path(crmos.__file__).parent
ALLOWED = {
    # The simulated ERP/MES/SCM/service desk keep their own SQLite files: they stand in for
    # other companies' systems and are not the crmos store.
    "connectors/sim/state.py": "simulators' own databases",
    # The graph benchmark bulk-loads millions of synthetic rows through each driver directly.
    "bench/graph_data.py": "benchmark bulk loader",
    # Benchmarks measure each store side by side and label the figures with its name.
    "bench/graph.py": "per-store figures",
    "bench/ingest.py": "per-store figures",
    "bench/tiers.py": "per-store figures (bytes per event read from SQLite's page counts)",
}
BACKEND_SQL = ("PRAGMA ", "sqlite_master", "sqlite_sequence", "pg_catalog", "pg_stat", "::regclass")


def _dialect_checks(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(
            _names_backend(side) for side in (node.left, *node.comparators)
        ):
            found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            args = [a.value for a in node.args if isinstance(a, ast.Constant)]
            if node.func.attr == "startswith" and any(
                isinstance(a, str) and a.startswith(("sqlite", "postgresql")) for a in args
            ):
                found.append((node.lineno, ast.unparse(node)))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and any(marker in node.value for marker in BACKEND_SQL)
        ):
            found.append((node.lineno, node.value[:60]))
    return found


def _names_backend(side: ast.expr) -> bool:
    if isinstance(side, ast.Constant):
        return side.value in ("sqlite", "postgresql")
    return ast.unparse(side).endswith(("dialect.name", ".paramstyle", "get_backend_name()"))


def _docstrings(tree: ast.AST) -> set[int]:
    """Line numbers of docstrings (prose may name PRAGMAs)."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                lines.add(body[0].value.lineno)
    return lines


def test_no_module_outside_the_store_branches_on_the_sql_backend() -> None:
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        # core/settings.py validates that the configured URL names a supported backend.
        if relative.startswith(("store/", "core/settings.py")) or relative in ALLOWED:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _docstrings(tree)
        offenders += [
            f"{relative}:{line}: {code}" for line, code in _dialect_checks(tree) if line not in docs
        ]
    assert offenders == [], "move these behind a function in crmos.store (dialect.py, engine.py)"


def test_the_check_finds_a_branch_on_the_backend() -> None:
    code = "if conn.dialect.name == 'sqlite':\n    conn.exec_driver_sql('PRAGMA x')\n"
    assert len(_dialect_checks(ast.parse(code))) == 2
