"""Graph: nodes, typed edges with evidence, inference rules, role/intent scores, audiences,
queries and health. Imports core, store, ingest and identity (through its public functions).
"""

from crmos.graph.accounts import Account, AccountPerson, AccountSummary, get_account, list_accounts
from crmos.graph.audiences import (
    HAND_PICKED,
    Audience,
    add_members,
    create_audience,
    delete_audience,
    get_audience,
    list_audiences,
    members,
)
from crmos.graph.consumer import GraphConsumer
from crmos.graph.edges import add_manual_edge, close_edge, ensure_node, put_edge
from crmos.graph.erasure import DATA_MAP, GraphEraser
from crmos.graph.expiry import ExpirySweeper, expire_edges
from crmos.graph.follow import follow_identity
from crmos.graph.health import GraphHealthCollector, graph_health, health_series
from crmos.graph.model import NODE_KINDS, Answer, EdgeView, Neighbour, node_id
from crmos.graph.query import neighbourhood, neighbours, shortest_path, top_accounts
from crmos.graph.rulebook import Rule, load_rules, parse_rules
from crmos.graph.scores import profiles_scoring, scores_of
from crmos.graph.service import GraphRuntime, build_graph

__all__ = [
    "DATA_MAP",
    "HAND_PICKED",
    "NODE_KINDS",
    "Account",
    "AccountPerson",
    "AccountSummary",
    "Answer",
    "Audience",
    "EdgeView",
    "ExpirySweeper",
    "GraphConsumer",
    "GraphEraser",
    "GraphHealthCollector",
    "GraphRuntime",
    "Neighbour",
    "Rule",
    "add_manual_edge",
    "add_members",
    "build_graph",
    "close_edge",
    "create_audience",
    "delete_audience",
    "ensure_node",
    "expire_edges",
    "follow_identity",
    "get_account",
    "get_audience",
    "graph_health",
    "health_series",
    "list_accounts",
    "list_audiences",
    "load_rules",
    "members",
    "neighbourhood",
    "neighbours",
    "node_id",
    "parse_rules",
    "profiles_scoring",
    "put_edge",
    "scores_of",
    "shortest_path",
    "top_accounts",
]
