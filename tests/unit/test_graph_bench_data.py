"""The benchmark's synthetic graph: hubs, and adjacency rows in the store's key order."""

from __future__ import annotations

import numpy as np

from crmos.bench.graph_data import TYPES, adjacency, generate


def test_the_synthetic_graph_has_hubs_and_about_five_edges_per_node() -> None:
    g = generate(20_000)
    assert 4.5 * g.n < g.edges <= 5 * g.n
    assert g.max_degree() > 100 * 2 * g.edges / g.n  # a power law, not a uniform graph


def test_adjacency_rows_are_unique_and_sorted_as_the_primary_key_sorts_them() -> None:
    g = generate(20_000)
    node, typ, neg, other = adjacency(g)
    names, types = np.array(g.names, dtype=object), np.array(TYPES, dtype=object)
    rows = list(zip(names[node], types[typ], neg.tolist(), names[other], strict=True))
    assert rows == sorted(set(rows))
    assert len(rows) == 2 * g.edges
