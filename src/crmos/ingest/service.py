"""The intake service: validate, normalise and write events from HTTP requests and files."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

from crmos.core.clock import Clock, utcnow
from crmos.core.errors import Problem, ValidationError
from crmos.core.settings import IntakeSettings
from crmos.ingest.messages import Message
from crmos.ingest.normalise import Prepared, Shared, prepare
from crmos.ingest.validate import decode_batch, decode_event_line, decode_single
from crmos.ingest.writer import EventWriter, GroupCommitter, Job, WriteResult
from crmos.store import ApiKey

MessageValidator = Callable[[str, Message], list[Problem]]
"""A check a later room adds to intake (compliance: CPF, VAT ...), given the workspace id and a
decoded message; it returns problems with paths relative to the message (``traits.cpf``)."""


@dataclass(frozen=True, slots=True)
class FileReport:
    """The outcome of a bulk import."""

    accepted: int
    duplicates: int
    rejected: int
    problems: list[Problem]


class IngestService:
    """Turns request bodies and files into committed events."""

    def __init__(
        self,
        settings: IntakeSettings,
        writer: EventWriter,
        committer: GroupCommitter | None = None,
        clock: Clock = utcnow,
        on_commit: Callable[[], None] | None = None,
        validators: Sequence[MessageValidator] = (),
    ) -> None:
        self._settings = settings
        self._writer = writer
        self._committer = committer
        self._clock = clock
        self._pii = frozenset(settings.pii_properties)
        self._on_commit = on_commit or (lambda: None)
        self._validators = tuple(validators)

    def use_committer(self, committer: GroupCommitter | None) -> None:
        """Send :meth:`accept`'s requests through ``committer``, the group-commit writer a
        serving process starts after this service was built (None once it closed)."""
        self._committer = committer

    async def accept(self, key: ApiKey, kind: str, raw: bytes) -> WriteResult:
        """Accept the body of ``POST /v1/{kind}``; all of it is committed, or none."""
        assert self._committer is not None, "accept() needs a GroupCommitter"
        try:
            messages, shared = self._decode(key, kind, raw)
        except ValidationError as exc:
            await self._committer.submit(Job(key.workspace_id, rejected=_rejections(key, exc)))
            raise
        events = [prepare(m, shared, self._pii) for m in messages]
        result = await self._committer.submit(Job(key.workspace_id, events))
        self._on_commit()
        return result

    def _decode(self, key: ApiKey, kind: str, raw: bytes) -> tuple[list[Message], Shared]:
        s = self._settings
        now = self._clock()
        if kind == "batch":
            envelope, messages = decode_batch(raw, s.max_event_bytes, s.max_batch_bytes)
            shared = Shared(
                now, key.source, envelope.sent_at, envelope.context, envelope.integrations
            )
            self._refuse(key.workspace_id, messages, "batch")
            return messages, shared
        message = decode_single(raw, kind, s.max_event_bytes)
        self._refuse(key.workspace_id, [message], kind)
        return [message], Shared(now, key.source)

    def _problems(
        self, workspace_id: str, message: Message, prefix: str, index: int | None
    ) -> list[Problem]:
        """What the added validators find wrong with one message, with its full path.

        ``prefix`` may hold ``{}`` for ``index``: it is formatted only when there are problems,
        which keeps string building off the path every valid event takes.
        """
        found = [p for check in self._validators for p in check(workspace_id, message)]
        if not found:
            return found
        where = prefix.format(index)
        return [replace(p, path=where + p.path, index=index) for p in found]

    def _refuse(self, workspace_id: str, messages: list[Message], kind: str) -> None:
        """Raise when a validator refuses any message: a request is stored whole or not at all."""
        if not self._validators:
            return
        batch = kind == "batch"
        problems = [
            p
            for i, m in enumerate(messages)
            for p in self._problems(
                workspace_id, m, "batch[{}]." if batch else "", i if batch else None
            )
        ]
        if problems:
            what = f"{kind} rejected ({len(problems)} problem(s)); nothing was stored"
            raise ValidationError(what, problems)

    def ingest_lines(
        self, workspace_id: str, source: str, lines: Iterable[bytes], chunk: int = 5000
    ) -> Iterator[FileReport]:
        """Bulk-import JSON lines (one Segment message each), yielding a report per chunk.

        A file is not a batch: a bad line is rejected on its own, with its line number.
        """
        for part in _chunks(enumerate(lines, start=1), chunk):
            events: list[Prepared] = []
            problems: list[Problem] = []
            now = self._clock()
            shared = Shared(now, source)
            for number, line in part:
                message, found = decode_event_line(line, number, self._settings.max_event_bytes)
                if message is not None and self._validators:
                    found = self._problems(workspace_id, message, "line[{}].", number)
                    message = None if found else message
                if message is None:
                    problems.extend(found)
                else:
                    events.append(prepare(message, shared, self._pii))
            rejected = Counter((source, p.reason) for p in _first_per_index(problems))
            result = self._writer.write([Job(workspace_id, events, dict(rejected))])[0]
            self._on_commit()
            yield FileReport(result.accepted, result.duplicates, result.rejected, problems)


def _rejections(key: ApiKey, exc: ValidationError) -> dict[tuple[str, str], int]:
    """Count a rejected request's events by the reason of their first problem."""
    firsts = _first_per_index(exc.problems)
    counts = Counter((key.source, p.reason) for p in firsts)
    return dict(counts) or {(key.source, "invalid"): 1}


def _first_per_index(problems: list[Problem]) -> list[Problem]:
    seen: dict[int | None, Problem] = {}
    for problem in problems:
        seen.setdefault(problem.index, problem)
    return list(seen.values())


def _chunks(items: Iterable[tuple[int, bytes]], size: int) -> Iterator[list[tuple[int, bytes]]]:
    part: list[tuple[int, bytes]] = []
    for item in items:
        part.append(item)
        if len(part) >= size:
            yield part
            part = []
    if part:
        yield part
