"""The event stream feeds consumers exactly once, in order, past bad events."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, text

from crmos.bootstrap import Container
from crmos.core.event import Event
from crmos.ingest import Consumer, StreamRunner
from crmos.store import failures
from crmos.store.tables import metadata
from tests.polling import wait_until


class Recorder(Consumer):
    """A consumer that writes what it saw into a table of its own, in the stream's transaction.

    It overrides none of the contract's hooks: their no-op defaults must do for it."""

    def __init__(self, name: str, fail_on: set[str] | None = None) -> None:
        self.name = name
        self.fail_on = fail_on or set()

    def handle(self, conn: Connection, events: Sequence[Event]) -> None:
        for event in events:
            if event.message_id in self.fail_on:
                raise ValueError(f"cannot handle {event.message_id}")
            conn.execute(
                text("INSERT INTO seen (consumer, message_id) VALUES (:c, :m)"),
                {"c": self.name, "m": event.message_id},
            )


def seen(container: Container, consumer: str) -> list[str]:
    with container.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT message_id FROM seen WHERE consumer = :c ORDER BY id"), {"c": consumer}
        )
        return [r[0] for r in rows]


def ingest(container: Container, ids: list[str]) -> None:
    ws = container.workspaces.by_name("acme") or container.workspaces.create("acme")[0]
    lines = [
        f'{{"type": "track", "userId": "u", "event": "E", "messageId": "{m}"}}'.encode()
        for m in ids
    ]
    list(container.ingest().ingest_lines(ws.id, "test", lines))


def make_seen_table(container: Container) -> None:
    id_type = (
        "INTEGER PRIMARY KEY" if container.engine.dialect.name == "sqlite" else "SERIAL PRIMARY KEY"
    )
    with container.engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE seen (id {id_type}, consumer TEXT, message_id TEXT)"))


def test_each_consumer_sees_every_event_once_in_log_order(container: Container) -> None:
    make_seen_table(container)
    runner = StreamRunner(
        container.engine, container.log, container.reader, [Recorder("a"), Recorder("b")], batch=3
    )
    ingest(container, [f"m{i}" for i in range(7)])
    assert runner.run_once() == 14
    ingest(container, ["m7", "m1"])  # m1 is a duplicate: never stored, never streamed
    assert runner.run_once() == 2
    assert runner.run_once() == 0
    assert seen(container, "a") == [f"m{i}" for i in range(8)]
    assert seen(container, "b") == seen(container, "a")


def test_a_bad_event_is_recorded_and_skipped_while_its_neighbours_take_effect(
    container: Container,
) -> None:
    make_seen_table(container)
    runner = StreamRunner(
        container.engine, container.log, container.reader, [Recorder("a", {"m2"})]
    )
    ingest(container, [f"m{i}" for i in range(5)])
    runner.run_once()
    assert seen(container, "a") == ["m0", "m1", "m3", "m4"]
    with container.engine.connect() as conn:
        [failure] = failures(conn, "a")
    assert "cannot handle m2" in failure.error


def test_the_stream_thread_handles_new_events_when_notified(container: Container) -> None:
    make_seen_table(container)
    runner = StreamRunner(container.engine, container.log, container.reader, [Recorder("a")])
    runner.start()
    try:
        ingest(container, ["x1"])
        runner.notify()
        wait_until(lambda: seen(container, "a") == ["x1"], 10, "the stream to deliver x1")
    finally:
        runner.close()


def test_migrations_create_exactly_the_tables_the_code_declares(container: Container) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with container.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_a_later_consumer_never_runs_ahead_of_the_one_before_it(container: Container) -> None:
    make_seen_table(container)

    class Racing(StreamRunner):
        """An event arrives after the first consumer drained and before the second reads."""

        arrived = False

        def _drain(self, consumer: Consumer, ceiling: int | None) -> int:
            handled = super()._drain(consumer, ceiling)
            if consumer.name == "first" and not self.arrived:
                self.arrived = True
                ingest(container, ["late"])
            return handled

    runner = Racing(
        container.engine, container.log, container.reader, [Recorder("first"), Recorder("second")]
    )
    ingest(container, ["m0", "m1"])
    runner.run_once()
    assert seen(container, "first") == ["m0", "m1"]
    assert seen(container, "second") == ["m0", "m1"]
    runner.run_once()
    assert seen(container, "first") == seen(container, "second") == ["m0", "m1", "late"]


class Hooked(Recorder):
    """A recorder that hears whether each of its transactions committed."""

    def __init__(self, name: str, fail_on: set[str], broken_hook: bool = False) -> None:
        super().__init__(name, fail_on)
        self.calls: list[str] = []
        self.broken_hook = broken_hook

    def committed(self) -> None:
        self.calls.append("committed")
        if self.broken_hook:
            raise RuntimeError("a hook that fails")

    def rolled_back(self) -> None:
        self.calls.append("rolled_back")


def test_a_consumer_hears_after_each_transaction_whether_it_committed(
    container: Container,
) -> None:
    make_seen_table(container)
    hooked = Hooked("h", {"m1"})
    runner = StreamRunner(container.engine, container.log, container.reader, [hooked])
    ingest(container, ["m0", "m1", "m2"])
    runner.run_once()
    # The batch fails on m1 and is retried event by event: m1 alone fails and is skipped.
    assert hooked.calls == ["rolled_back", "committed", "rolled_back", "committed"]
    assert seen(container, "h") == ["m0", "m2"]


def test_a_failing_commit_hook_neither_undoes_the_batch_nor_stops_the_stream(
    container: Container,
) -> None:
    make_seen_table(container)
    hooked = Hooked("h", set(), broken_hook=True)
    runner = StreamRunner(container.engine, container.log, container.reader, [hooked])
    ingest(container, ["m0"])
    assert runner.run_once() == 1
    ingest(container, ["m1"])
    assert runner.run_once() == 1
    assert seen(container, "h") == ["m0", "m1"]
    assert hooked.calls == ["committed", "committed"]


class Sizes(Recorder):
    """A recorder that asks for small transactions near the log's head and notes their sizes."""

    near_head_batch = 2

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.sizes: list[int] = []

    def handle(self, conn: Connection, events: Sequence[Event]) -> None:
        super().handle(conn, events)
        self.sizes.append(len(events))


def test_near_the_head_a_consumer_may_take_small_transactions_and_large_ones_when_behind(
    container: Container,
) -> None:
    make_seen_table(container)
    sizes = Sizes("s")
    runner = StreamRunner(container.engine, container.log, container.reader, [sizes], batch=20)
    ingest(container, [f"a{i}" for i in range(5)])  # near the head: at most 4 small batches
    runner.run_once()
    ingest(container, [f"b{i}" for i in range(9)])  # behind: one batch
    runner.run_once()
    assert sizes.sizes == [2, 2, 1, 9]
    assert seen(container, "s") == [f"a{i}" for i in range(5)] + [f"b{i}" for i in range(9)]
