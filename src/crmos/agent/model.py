"""Values of the agent room: parsed documents and what understanding found in them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

KINDS = ("email", "transcript", "screenshot", "pdf", "text")


@dataclass(frozen=True, slots=True)
class Sender:
    """Who sent an interaction, as far as the file says."""

    email: str | None = None
    phone: str | None = None
    name: str | None = None

    def identifiers(self) -> list[tuple[str, str]]:
        """``(type, value)`` pairs identity can resolve, strongest first."""
        return [(t, v) for t, v in (("email", self.email), ("phone", self.phone)) if v]


@dataclass(frozen=True, slots=True)
class Utterance:
    """One line of a transcript or chat: who said what, and when (seconds from the start)."""

    speaker: str | None
    text: str
    start_s: float | None = None


@dataclass(frozen=True, slots=True)
class Part:
    """An attachment of an e-mail: its name, type, size, and text per page when readable."""

    name: str
    content_type: str
    size: int
    pages: tuple[str, ...] = ()
    readable: bool = True
    reason: str = ""
    ocr: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (without the text)."""
        return {
            "name": self.name,
            "content_type": self.content_type,
            "size": self.size,
            "pages": len(self.pages),
            "readable": self.readable,
            "reason": self.reason,
            "ocr": self.ocr,
        }


@dataclass(frozen=True, slots=True)
class Document:
    """A file turned into text: pages (one for most kinds), sender, utterances, attachments.

    ``readable`` is False with a ``reason`` when nothing could be read; the raw bytes are kept
    by the caller regardless, so no input is lost.
    """

    kind: str
    pages: tuple[str, ...] = ()
    sender: Sender = field(default_factory=Sender)
    subject: str | None = None
    occurred_at: datetime | None = None
    utterances: tuple[Utterance, ...] = ()
    parts: tuple[Part, ...] = ()
    readable: bool = True
    reason: str = ""
    ocr: bool = False

    @property
    def text(self) -> str:
        """The whole text: subject, pages, then readable attachments."""
        chunks = [self.subject or "", *self.pages]
        chunks += [f"[{p.name}]\n" + "\n".join(p.pages) for p in self.parts if p.pages]
        return "\n\n".join(c for c in chunks if c.strip())


def unreadable(kind: str, reason: str) -> Document:
    """A document nothing could be read from, and why."""
    return Document(kind=kind, readable=False, reason=reason)
