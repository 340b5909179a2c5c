"""The scale-out bench's and tests' shared parts: a Segment-style load with merges across
partitions, and a snapshot of the derived state that holds no generated ids or timestamps, so
a run with many workers compares equal to a run in one process."""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import Engine, text


def segment_load(people: int, seed: int = 7) -> list[dict[str, Any]]:
    """Messages of ``people`` persons, each first anonymous on a device, then identified; every
    fifth shares a second device with the next person's account (merges across partitions:
    the anonymous id and the user id hash to different ones). Per person in order."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    n = 0

    def msg(kind: str, **fields: Any) -> dict[str, Any]:
        nonlocal n
        n += 1
        return {
            "type": kind,
            "messageId": f"m{n:06d}",
            "timestamp": f"2026-12-01T10:{n // 3600 % 60:02d}:{n // 60 % 60:02d}.{n % 1000:03d}Z",
            **fields,
        }

    for p in range(people):
        anon, user = f"anon-{p}", f"user-{p}"
        for page in ("/", "/pricing", "/docs")[: rng.randint(1, 3)]:
            out.append(msg("page", anonymousId=anon, name=page, properties={"path": page}))
        traits = {"email": f"person{p}@example.com", "company": {"name": f"Co{p % 7}"}}
        out.append(msg("identify", anonymousId=anon, userId=user, traits=traits))
        for _ in range(rng.randint(1, 4)):
            out.append(
                msg(
                    "track",
                    userId=user,
                    event="Product Viewed",
                    properties={"sku": f"s{rng.randint(1, 9)}"},
                )
            )
        if p % 5 == 4:  # a shared device: this person's second anonymous id meets the next user
            shared = f"shared-{p}"
            out.append(msg("page", anonymousId=shared, name="/"))
            out.append(msg("identify", anonymousId=shared, userId=user))
    return out


def snapshot(engine: Engine) -> dict[str, Any]:
    """The state the stream derived, named by message ids instead of generated profile ids."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT e.message_id, p.root_id FROM profile_events pe"
                " JOIN events e ON e.seq = pe.seq JOIN profiles p ON p.id = pe.profile_id"
            )
        ).all()
        groups: dict[str, set[str]] = {}
        for message_id, root in rows:
            groups.setdefault(root, set()).add(message_id)
        name = {root: min(ids) for root, ids in groups.items()}
        # every profile (merged ones too) is named by its live root's group
        roots: dict[str, str] = dict(conn.execute(text("SELECT id, root_id FROM profiles")).all())

        def canon(node: str) -> str:
            kind, _, key = node.partition(":")
            if kind == "profile":
                return f"profile:{name.get(roots.get(key, key), '?')}"
            return node

        edges = sorted(
            (r.type, canon(r.src), canon(r.dst), round(float(r.weight), 6))
            for r in conn.execute(
                text("SELECT type, src, dst, weight FROM graph_edges WHERE valid_to_ms IS NULL")
            )
        )
        failures = conn.execute(text("SELECT count(*) FROM stream_failures")).scalar_one()
    return {
        "groups": sorted(sorted(ids) for ids in groups.values()),
        "edges": edges,
        "failures": failures,
    }
