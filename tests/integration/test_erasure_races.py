"""An erasure racing the identity consumer leaves no profile behind, on SQLite and PostgreSQL.

The durability campaign found one live profile, on PostgreSQL scale-out, that no identify call
resolved to: a person erased right after being sent, while identity had not stitched them yet.
The erasure found them through the event log only (a pseudonym, no profile), and identity then
created their profile from events it had read before they were deleted, or between the request
and the erasure. The sweep pseudonymised that profile's identifiers and left it as an orphan.
Each test drives one interleaving explicitly.
"""

from __future__ import annotations

import orjson
from sqlalchemy import func, select

from crmos.bootstrap import Container
from crmos.core.event import Event
from crmos.identity import Stitcher, profile_of
from crmos.store.tables_graph import graph_nodes
from crmos.store.tables_identity import profile_identifiers, profiles

PERSON = {"email": "late.larsen@example.dk", "name": "Lars Late"}


def send_unstitched(container: Container, ws: str, user: str) -> None:
    """Store an identify call; identity has not consumed it yet."""
    line = {"type": "identify", "userId": user, "traits": PERSON, "messageId": f"{user}:id"}
    for report in container.ingest().ingest_lines(ws, "web", [orjson.dumps(line)]):
        assert not report.problems, report.problems


def read_like_the_stream(container: Container) -> list[Event]:
    """The batch the stream would hand identity: read in its own, earlier transaction."""
    with container.engine.connect() as conn:
        return container.reader.to_events(conn, container.log.read_after(conn, 0, 100))


def profiles_left(container: Container, ws: str) -> tuple[int, int]:
    """The workspace's profiles and identifiers."""
    with container.engine.connect() as conn:
        counted = [
            conn.execute(
                select(func.count()).select_from(t).where(t.c.workspace_id == ws)
            ).scalar_one()
            for t in (profiles, profile_identifiers)
        ]
    return int(counted[0]), int(counted[1])


def test_identity_does_not_create_a_profile_from_events_an_erasure_deleted_after_it_read_them(
    container: Container,
) -> None:
    ws = container.workspaces.create("race")[0].id
    send_unstitched(container, ws, "late-1")
    stale = read_like_the_stream(container)
    assert [e.user_id for e in stale] == ["late-1"]
    dsr = container.compliance.dsr
    done = dsr.run(ws, dsr.receive(ws, "erasure", ("user_id", "late-1"), "api", "t").id)
    assert done.status == "completed", done.reason
    with container.engine.begin() as conn:
        Stitcher(container.settings.identity).handle(conn, stale)  # commits after the erasure
    assert profiles_left(container, ws) == (0, 0)


def test_an_erasure_requested_before_identity_stitched_the_person_erases_their_profile(
    container: Container,
) -> None:
    ws = container.workspaces.create("race")[0].id
    send_unstitched(container, ws, "late-2")
    dsr = container.compliance.dsr
    request = dsr.receive(ws, "erasure", ("user_id", "late-2"), "api", "t")  # the log knows them
    container.stream.run_once()  # identity stitches them between the request and the erasure
    with container.engine.connect() as conn:
        stitched = profile_of(conn, ws, "user_id", "late-2")
    assert stitched is not None and request.profile_id != stitched
    done = dsr.run(ws, request.id)
    assert done.status == "completed", done.reason
    assert profiles_left(container, ws) == (0, 0)
    with container.engine.connect() as conn:  # every room forgot the profile, graph's included
        nodes = conn.execute(select(graph_nodes.c.id).where(graph_nodes.c.workspace_id == ws))
        assert [n for n in nodes.scalars() if stitched in n] == []
