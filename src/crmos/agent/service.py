"""The agent service: interaction intake, understanding, profile attachment, hand-over events,
recommendations and their approval.

Intake never loses input: the bytes are stored with the interaction even when nothing could be
read (status ``unreadable`` and the reason). Each interaction is logged as a ``track`` event
``Interaction Received`` through the intake service (port ``events``), carrying the sender's
identifiers in ``context.traits`` so identity attaches it to a profile (new or known). A
complaint or data-deletion request is also logged as ``Complaint Submitted`` with its text,
which the compliance room consumes (it starts an erasure when the text asks for one).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import phonenumbers
from sqlalchemy import Connection, Engine

from crmos.agent import profiles, repo
from crmos.agent.documents import read_document
from crmos.agent.intent_models import IntentModels
from crmos.agent.knowledge import KnowledgeBase
from crmos.agent.model import Document, Sender, unreadable
from crmos.agent.recommend import Recommender
from crmos.agent.understand import Analyzer, Understanding
from crmos.core.clock import iso, now_ms, utcnow
from crmos.core.errors import PayloadTooLarge, Problem
from crmos.core.ids import new_id
from crmos.core.logsafe import get_logger
from crmos.core.settings import AgentSettings

log = get_logger(__name__)  # exception messages withheld (core.logsafe)

EventSink = Callable[[str, list[dict[str, Any]]], None]
HANDOVER_INTENTS = {"complaint", "data_deletion_request"}
DEFAULT_TOUCHPOINT = {
    "email": "email", "transcript": "meeting", "screenshot": "chat", "pdf": "document",
    "text": "message",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Submission:
    """A file handed to intake, with what the caller knows beside it."""

    workspace_id: str
    name: str
    data: bytes
    content_type: str = "application/octet-stream"
    touchpoint: str | None = None
    profile_id: str | None = None
    sender_email: str | None = None
    sender_phone: str | None = None


class AgentService:
    """What the API and CLI call; wired by ``crmos.bootstrap``."""

    def __init__(
        self,
        engine: Engine,
        settings: AgentSettings,
        models: IntentModels,
        events: EventSink | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.models = models
        self.knowledge = KnowledgeBase(engine, settings)
        self.analyzer = Analyzer(settings, models)
        self.recommender = Recommender(settings, self.knowledge)
        self._events = events
        self._drain: Callable[[], object] | None = None

    def connect(self, drain: Callable[[], object]) -> None:
        """Let :meth:`add` bring the event stream up to date (``drain``) so identity stitches
        a new sender at once. The stream is built after this room: it feeds the agent's own
        consumer."""
        self._drain = drain

    def add(self, sub: Submission) -> dict[str, Any]:
        """Take in one file; returns the stored interaction with its recommendations."""
        if len(sub.data) > self.settings.max_file_bytes:
            limit = self.settings.max_file_bytes
            why = f"larger than agent.max_file_bytes = {limit}; split or compress it"
            problem = Problem("file", why, reason="too_large")
            raise PayloadTooLarge(
                f"interaction file '{sub.name}' is {len(sub.data)} bytes", [problem]
            )
        document = self._read(sub)
        sender = self._sender(document.sender, sub)
        with self.engine.connect() as conn:
            extra = repo.workspace_examples(conn, sub.workspace_id)
            profile_id, known = self._profile(conn, sub, sender)
        found = self._understand(document, extra)
        # Recommend at once when the profile is known (or never will be); otherwise after
        # identity has stitched the sender's event.
        now = profile_id is not None or not sender.identifiers()
        with self.engine.begin() as conn:
            item = self._store(conn, sub, document, sender, found, profile_id)
            if now:
                self.recommender.recommend(conn, item, self.language_of(conn, sub.workspace_id))
        self._emit(item, sender, known, found)
        if not now and self._drain is not None:
            self._drain()  # identity stitches the new sender; the agent consumer attaches it
            self._attach_late(item["workspace_id"], item["id"], sender)
        return self.get(sub.workspace_id, item["id"])

    def _attach_late(self, workspace_id: str, interaction_id: str, sender: Sender) -> None:
        """Attach now if the stream has not (it runs in another thread and may lag)."""
        with self.engine.begin() as conn:
            profile_id = profiles.resolve(conn, workspace_id, sender.identifiers())
            if profile_id and repo.attach(conn, workspace_id, interaction_id, profile_id):
                item = repo.interaction(conn, workspace_id, interaction_id)
                self.recommender.recommend(conn, item, self.language_of(conn, workspace_id))

    def _read(self, sub: Submission) -> Document:
        try:
            return read_document(sub.name, sub.data, self.settings)
        except Exception as exc:  # a reader bug must not lose the input: keep it, say why
            # Not the file name: it may name the sender ("Hans Müller complaint.eml").
            log.exception("reading a %s file failed", sub.content_type)
            return unreadable("text", f"internal error while reading the file: {exc}")

    def _understand(self, document: Document, extra: Sequence[Any]) -> Understanding | None:
        if not document.readable or not document.text.strip():
            return None
        return self.analyzer.analyze(document, extra)

    def _sender(self, found: Sender, sub: Submission) -> Sender:
        email = (sub.sender_email or found.email or "").strip().lower() or None
        phone = sub.sender_phone or found.phone
        if phone:
            try:
                parsed = phonenumbers.parse(phone, self.settings.phone_region)
                phone = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
            except phonenumbers.NumberParseException:
                phone = phone.strip()
        return Sender(email, phone, found.name)

    def _profile(
        self, conn: Any, sub: Submission, sender: Sender
    ) -> tuple[str | None, list[tuple[str, str]]]:
        if sub.profile_id:
            return profiles.identifiers_of(conn, sub.workspace_id, sub.profile_id)
        identifiers = sender.identifiers()
        return profiles.resolve(conn, sub.workspace_id, identifiers), identifiers

    def _store(
        self, conn: Connection, sub: Submission, document: Document, sender: Sender,
        found: Understanding | None, profile_id: str | None,
    ) -> dict[str, Any]:  # fmt: skip
        status, reason = _status(document, found, profile_id, sender)
        ident = new_id("int_")
        touchpoint = sub.touchpoint or DEFAULT_TOUCHPOINT.get(document.kind, "message")
        intent = found.intent.intent if found and found.understood else None
        tags = {
            "touchpoint": touchpoint, "intent": intent,
            "action": found.action if found and found.understood else "none",
            "outcome": "unreadable" if status == "unreadable" else "pending",
        }  # fmt: skip
        row = {
            "id": ident, "workspace_id": sub.workspace_id, "profile_id": profile_id,
            "kind": document.kind, "touchpoint": touchpoint, "source_name": sub.name[:300],
            "received_ms": now_ms(), "status": status, "reason": reason,
            "occurred_ms": _ms(document.occurred_at),
            "language": found.language if found else "unknown",
            "sender": repo.dumps({"email": sender.email, "phone": sender.phone,
                                  "name": sender.name}),
            "subject": document.subject, "text": document.text,
            "understanding": repo.dumps(_understanding(found, document)),
            "tags": repo.dumps(tags), "intent": intent, "message_id": f"interaction-{ident}",
            "_content_type": sub.content_type,
        }  # fmt: skip
        repo.insert_interaction(conn, row, sub.data, hashlib.sha256(sub.data).hexdigest())
        return repo.as_dict(SimpleNamespace(**row))

    def _emit(
        self, item: dict[str, Any], sender: Sender, known: list[tuple[str, str]],
        found: Understanding | None,
    ) -> None:  # fmt: skip
        if self._events is None:
            return
        messages = [_event(item, "Interaction Received", sender, known, {})]
        if found and found.understood and found.intent.intent in HANDOVER_INTENTS:
            extra = {"text": item["text"][:20_000], "intent": found.intent.intent}
            messages.append(_event(item, "Complaint Submitted", sender, known, extra))
        try:
            self._events(item["workspace_id"], messages)
        except Exception:  # the interaction is stored; the event can be re-sent
            log.exception("could not log interaction %s as an event", item["id"])

    def language_of(self, conn: Any, workspace_id: str) -> str:
        """The language reasons are written in for ``workspace_id``."""
        return repo.language(conn, workspace_id) or self.settings.language

    def get(self, workspace_id: str, interaction_id: str) -> dict[str, Any]:
        """An interaction with its recommendations."""
        with self.engine.connect() as conn:
            item = repo.interaction(conn, workspace_id, interaction_id)
            recs = repo.list_recommendations(conn, workspace_id, interaction_id=interaction_id)
        return {**item, "recommendations": recs}


def _status(
    document: Document, found: Understanding | None, profile_id: str | None, sender: Sender
) -> tuple[str, str]:
    if not document.readable:
        return "unreadable", document.reason
    if found is None:
        return "unreadable", "no text found"
    if not found.understood:
        return "unreadable", "; ".join(found.notes)
    if profile_id or sender.identifiers():
        return "ok", "; ".join(found.notes)
    return "unattached", "no sender e-mail or phone: pass a profile id or sender to attach it"


def _understanding(found: Understanding | None, document: Document) -> dict[str, Any]:
    data: dict[str, Any] = found.as_dict() if found else {}
    data["pages"] = len(document.pages)
    data["ocr"] = document.ocr
    data["attachments"] = [p.as_dict() for p in document.parts]
    data["utterances"] = [
        {"speaker": u.speaker, "text": u.text, "start_s": u.start_s} for u in document.utterances
    ]
    return data


def _event(
    item: dict[str, Any], name: str, sender: Sender, known: list[tuple[str, str]],
    extra: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    traits = {k: v for k, v in (("email", sender.email), ("phone", sender.phone)) if v}
    ids = dict(known)
    traits.update({k: ids[k] for k in ("email", "phone") if k in ids and k not in traits})
    message: dict[str, Any] = {
        "type": "track",
        "event": name,
        "messageId": f"{item['message_id']}"
        + ("" if name == "Interaction Received" else "-handover"),
        "timestamp": iso(utcnow()),
        "properties": {
            "interaction_id": item["id"],
            "kind": item["kind"],
            "touchpoint": item["touchpoint"],
            "intent": item["tags"]["intent"],
            "status": item["status"],
            **extra,
        },
        "context": {"traits": traits} if traits else {},
    }
    if "user_id" in ids:
        message["userId"] = ids["user_id"]
    anon = ids.get("anonymous_id") or _anonymous(sender) or f"interaction:{item['id']}"
    message["anonymousId"] = anon
    return message


def _ms(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value else None


def _anonymous(sender: Sender) -> str | None:
    """A stable pseudonymous id per sender, so identity sees one device-like id per person."""
    key = sender.email or sender.phone
    return f"sender:{hashlib.sha256(key.encode()).hexdigest()[:24]}" if key else None
