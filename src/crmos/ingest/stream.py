"""The event stream: downstream rooms consume the committed event log in order, exactly once.

Each :class:`Consumer` (identity, graph, triggers ...) has a durable offset. The runner hands it
the next events together with a connection; the consumer's writes and its new offset commit in
one transaction, so a crash never loses or repeats an event's effects. A batch that fails is
retried event by event; an event that fails on its own is recorded in ``stream_failures`` and
skipped, so one bad event never stops the stream.

The contract is :class:`Consumer`: ``name`` and ``handle`` are required; the hooks
(``near_head_batch``, ``committed``, ``rolled_back``) have typed no-op defaults, so the runner
calls them directly. The composition root gives the runner its consumers in flow order
(``crmos.bootstrap.stream_consumers`` says why that order); a consumer never runs ahead of the
one before it.

**One replay rule.** After every transaction the runner settles it with exactly one call:
``committed()`` or ``rolled_back()``. A transaction that did not commit (``handle`` raised, or
the commit itself failed) is followed by ``rolled_back()``, and its events come again (as a
retry, event by event). A consumer that keeps anything in memory drops what may be ahead of the
store in ``rolled_back()``; none infers a replay from sequence numbers. Code that drives a
consumer outside the runner settles its transactions the same way.
"""

from __future__ import annotations

import threading
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

from sqlalchemy import Connection, Engine

from crmos.core.event import Event
from crmos.core.logsafe import get_logger
from crmos.ingest.reader import EventReader
from crmos.store import EventLog, get_offset, record_failure, set_offset

log = get_logger(__name__)  # exception messages withheld (core.logsafe)


class Consumer(ABC):
    """A room that reacts to committed events: subclass it, set ``name``, define ``handle``.

    The hooks below default to doing nothing; override the ones a consumer needs.
    """

    name: str
    """The consumer's durable offset key (``stream_offsets.consumer``); never rename it."""

    near_head_batch: int | None = None
    """When latency matters: near the log's head (what the runner read is at most four such
    batches) events come in transactions of at most this many, so an effect commits soon after
    its event; behind, in batches as large as the runner's, for throughput. None: always large."""

    @abstractmethod
    def handle(self, conn: Connection, events: Sequence[Event]) -> None:
        """Apply ``events`` (in log order) using ``conn``; raise to reject the batch."""

    def committed(self) -> None:  # noqa: B027 - optional hook: a no-op unless overridden
        """Called right after this consumer's transaction committed, in the stream's thread
        (e.g. to start the runs it recorded without another poll)."""

    def rolled_back(self) -> None:  # noqa: B027 - optional hook: a no-op unless overridden
        """Called when this consumer's transaction did not commit: memory may be ahead of the
        store, and the same events come again. Drop whatever was cached since the last commit."""


class StreamRunner:
    """Feeds consumers, in the order given, from the event log."""

    def __init__(
        self,
        engine: Engine,
        log_: EventLog,
        reader: EventReader,
        consumers: Sequence[Consumer],
        batch: int = 500,
        idle_poll_s: float = 0.5,
        wake: threading.Event | None = None,
    ) -> None:
        self._engine = engine
        self._log = log_
        self._reader = reader
        self._consumers = list(consumers)
        self._batch = batch
        self._idle = idle_poll_s
        # Shared with whoever commits events (intake's ``on_commit``), which may be built first.
        self._wake = wake if wake is not None else threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        """The consumers' names (their offset keys), in flow order."""
        return [c.name for c in self._consumers]

    def notify(self) -> None:
        """New events were committed: wake the runner now instead of at the next poll."""
        self._wake.set()

    def run_once(self) -> int:
        """Bring every consumer up to the end of the log; returns how many events were handled."""
        with self._lock:
            handled, ceiling = 0, None
            for consumer in self._consumers:
                handled += self._drain(consumer, ceiling)
                # A consumer never runs ahead of the one before it: the graph must not see an
                # event identity has not stitched yet, even when new events arrived meanwhile.
                with self._engine.connect() as conn:
                    ceiling = get_offset(conn, consumer.name)
            return handled

    def start(self) -> None:
        """Run in a background thread until :meth:`close`."""
        if self._thread is None and self._consumers:
            self._thread = threading.Thread(target=self._loop, name="crmos-stream", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Stop the background thread after its current batch."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                handled = self.run_once()
            except Exception:
                log.exception("event stream failed; retrying after %.1fs", self._idle)
                handled = 0
            if not handled:
                # Other processes (CLI imports, other API workers) commit too: poll as a fallback.
                self._wake.wait(self._idle)

    def _drain(self, consumer: Consumer, ceiling: int | None) -> int:
        total = 0
        while True:
            with self._engine.connect() as conn:
                offset = get_offset(conn, consumer.name)
                rows = self._log.read_after(conn, offset, self._batch, until=ceiling)
                events = self._reader.to_events(conn, rows)
            if not events:
                return total
            for chunk in _chunks(events, consumer.near_head_batch):
                self._apply(consumer, chunk)
            total += len(events)

    def _apply(self, consumer: Consumer, events: list[Event]) -> None:
        try:
            with self._engine.begin() as conn:
                consumer.handle(conn, events)
                set_offset(conn, consumer.name, _last_seq(events))
        except Exception as exc:
            settle(consumer, consumer.rolled_back)
            if len(events) == 1:
                self._skip(consumer, events[0], exc)
                return
            for event in events:  # find the bad one(s); the good ones still take effect
                self._apply(consumer, [event])
        else:
            settle(consumer, consumer.committed)

    def _skip(self, consumer: Consumer, event: Event, exc: Exception) -> None:
        log.error("consumer %s skipped event seq=%s: %s", consumer.name, event.seq, exc)
        error = "".join(traceback.format_exception(exc, limit=3))
        with self._engine.begin() as conn:
            record_failure(conn, consumer.name, event.seq or 0, event.workspace_id, error)
            set_offset(conn, consumer.name, event.seq or 0)


def _chunks(events: list[Event], small: int | None) -> list[list[Event]]:
    """``events`` in one batch, or near the head in batches of ``small``."""
    if not small or len(events) > 4 * small:
        return [events]
    return [events[i : i + small] for i in range(0, len(events), small)]


def settle(consumer: Consumer, hook: Callable[[], None]) -> None:
    """Call the consumer's ``committed``/``rolled_back`` hook; its failure is logged, never
    raised: the transaction's outcome is settled and the stream must go on."""
    try:
        hook()
    except Exception:
        log.exception("consumer %s failed in %s()", consumer.name, hook.__name__)


def _last_seq(events: Sequence[Event]) -> int:
    return max(e.seq or 0 for e in events)
