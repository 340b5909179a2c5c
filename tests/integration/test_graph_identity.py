"""Edges follow identity: a merge moves a profile's edges to the survivor; a split, back."""

from __future__ import annotations

from crmos.bootstrap import Container
from crmos.graph import follow_identity, neighbourhood
from crmos.identity import merge_profiles, profile_of, split_profile
from tests.integration.graph_support import group, send


def _device(user: str, device: str) -> dict[str, object]:
    return {
        "type": "track",
        "userId": user,
        "event": "App Opened",
        "context": {"device": {"id": device}},
    }


def _kinds(container: Container, ws: str, node: str) -> set[str]:
    with container.engine.connect() as conn:
        answer = neighbourhood(conn, ws, node, hops=1)
    return {n.node for n in answer.nodes}


def test_edges_follow_a_merge_and_go_back_after_the_split(container: Container) -> None:
    ws, _, _ = container.workspaces.create("merges")
    send(container, ws.id, group("pat", "acme", "Acme"), _device("pat-app", "ios-1"))
    with container.engine.connect() as conn:
        pat = profile_of(conn, ws.id, "user_id", "pat")
        app = profile_of(conn, ws.id, "user_id", "pat-app")
    assert pat and app and pat != app
    with container.engine.begin() as conn:
        merge_profiles(conn, ws.id, pat, app, reason="same person", evidence={"by": "test"})
        moved = follow_identity(conn, ws.id)
    assert moved == {pat}
    assert _kinds(container, ws.id, f"profile:{pat}") == {"account:acme", "device:ios-1"}
    assert _kinds(container, ws.id, f"profile:{app}") == {"account:acme", "device:ios-1"}
    assert _kinds(container, ws.id, "device:ios-1") == {f"profile:{pat}"}
    with container.engine.begin() as conn:
        split_profile(conn, ws.id, app, reason="wrong merge")
    send(container, ws.id, group("pat", "acme", "Acme"))  # the consumer follows on its next batch
    assert _kinds(container, ws.id, f"profile:{pat}") == {"account:acme"}
    assert _kinds(container, ws.id, "device:ios-1") == {f"profile:{app}"}
