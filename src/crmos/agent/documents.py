"""Files to documents: e-mail (``.eml``), transcripts (``.vtt``, ``.srt``, ``.txt``), chat
screenshots (images, OCR) and PDFs (text layer, OCR when a page has none).

Nothing here raises on bad input: a file that cannot be read becomes an unreadable document
with the reason, and the caller keeps the raw bytes.
"""

from __future__ import annotations

import io
import re
import warnings
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr
from pathlib import PurePath

from crmos.agent.model import Document, Part, Sender, Utterance, unreadable
from crmos.agent.ocr import ocr_image, open_image, render_pdf_pages
from crmos.core.errors import ValidationError
from crmos.core.settings import AgentSettings

IMAGE_TYPES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp")
TRANSCRIPT_TYPES = (".vtt", ".srt", ".txt")
SUPPORTED = (".eml", *TRANSCRIPT_TYPES, ".pdf", *IMAGE_TYPES)
_SPEAKER = re.compile(
    r"^\s*(?:\[?[\d:.,]+\]?\s*)?(?P<who>[^:：\n]{1,40}?)\s*[:：]\s*(?P<text>\S.*)$"
)
_SRT_TIME = re.compile(r"(\d{2}:\d{2}:\d{2}),(\d{3})")
_TAG = re.compile(r"<[^>]+>")


def kind_of(name: str, data: bytes) -> str | None:
    """The kind of a file from its name (and PDF/e-mail magic), or None if unsupported."""
    suffix = PurePath(name).suffix.lower()
    if suffix == ".pdf" or data.startswith(b"%PDF"):
        return "pdf"
    if suffix == ".eml":
        return "email"
    if suffix in IMAGE_TYPES:
        return "screenshot"
    if suffix in TRANSCRIPT_TYPES:
        return "transcript"
    return None


def read_document(name: str, data: bytes, settings: AgentSettings) -> Document:
    """Parse ``data`` (the content of file ``name``) into a document."""
    kind = kind_of(name, data)
    if kind is None:
        return unreadable(
            "text",
            f"unsupported file type '{PurePath(name).suffix or name}'; send one of "
            + ", ".join(SUPPORTED),
        )
    if not data.strip():
        return unreadable(kind, "the file is empty")
    readers = {"email": read_email, "transcript": read_transcript, "pdf": read_pdf}
    if kind == "screenshot":
        return read_screenshot(data, settings)
    return readers[kind](name, data, settings)


def read_screenshot(data: bytes, settings: AgentSettings) -> Document:
    """OCR a chat screenshot; lines like ``Name: text`` become utterances."""
    try:
        text = ocr_image(open_image(data), settings.ocr_languages, settings.ocr_timeout_s)
    except ValidationError as exc:
        return unreadable("screenshot", exc.message)
    if len(text.strip()) < 2:
        return unreadable("screenshot", "no text found in the image")
    return Document("screenshot", (text,), utterances=_utterances(text), ocr=True)


def read_transcript(name: str, data: bytes, settings: AgentSettings) -> Document:
    """A meeting transcript: WebVTT (voices), SRT or plain ``Speaker: text`` lines."""
    text = _decode(data)
    if text is None:
        return unreadable("transcript", "the transcript is not UTF-8 or GB18030 text")
    suffix = PurePath(name).suffix.lower()
    if suffix in (".vtt", ".srt"):
        try:
            utterances = _captions(text, suffix)
        except Exception as exc:  # webvtt-py raises several types for malformed files
            return unreadable("transcript", f"malformed {suffix} file: {exc}")
    else:
        utterances = _utterances(text)
    body = "\n".join(f"{u.speaker}: {u.text}" if u.speaker else u.text for u in utterances)
    return Document("transcript", (body or text,), utterances=utterances)


def _captions(text: str, suffix: str) -> tuple[Utterance, ...]:
    import webvtt

    if suffix == ".srt":
        text = "WEBVTT\n\n" + _SRT_TIME.sub(r"\1.\2", re.sub(r"^\d+\s*$", "", text, flags=re.M))
    captions = webvtt.from_buffer(io.StringIO(text))
    out: list[Utterance] = []
    for caption in captions.captions:
        line = _TAG.sub("", caption.text).strip()
        speaker = caption.voice
        if not speaker and (m := _SPEAKER.match(line)):
            speaker, line = m["who"], m["text"]
        out.append(Utterance(speaker, line, _seconds(caption.start)))
    return tuple(out)


def _seconds(stamp: str) -> float:
    """``HH:MM:SS.mmm`` (or ``MM:SS.mmm``) as seconds."""
    total = 0.0
    for part in stamp.split(":"):
        total = total * 60 + float(part)
    return round(total, 3)


def _utterances(text: str) -> tuple[Utterance, ...]:
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        m = _SPEAKER.match(line)
        out.append(Utterance(m["who"], m["text"]) if m else Utterance(None, line.strip()))
    return tuple(out)


def read_email(name: str, data: bytes, settings: AgentSettings) -> Document:
    """An e-mail: sender, subject, date, plain body (or HTML stripped), attachments."""
    try:
        message = BytesParser(policy=policy.default).parsebytes(data)
    except Exception as exc:  # the stdlib parser is lenient; this is a last resort
        return unreadable("email", f"not a parseable e-mail: {exc}")
    if not isinstance(message, EmailMessage) or not (message.keys() or message.get_payload()):
        return unreadable("email", "no e-mail headers found")
    display, address = parseaddr(str(message.get("From", "")))
    sender = Sender(email=address.lower() or None, name=display or None)
    body = _body(message)
    parts = tuple(_attachment(p, settings) for p in message.iter_attachments())
    return Document(
        "email", (body,) if body else (), sender, str(message.get("Subject", "")) or None,
        _date(message), parts=parts,
    )  # fmt: skip


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # unknown charset or broken transfer encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    text = str(content)
    if part.get_content_subtype() == "html":
        text = re.sub(r"\s*\n\s*", "\n", _TAG.sub(" ", re.sub(r"(?i)<br\s*/?>|</p>", "\n", text)))
    return text.strip()


def _date(message: EmailMessage) -> datetime | None:
    try:
        header = message["Date"]
        value = getattr(header, "datetime", None) if header is not None else None
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, datetime) else None


def _attachment(part: EmailMessage, settings: AgentSettings) -> Part:
    name = part.get_filename() or "attachment"
    content_type = part.get_content_type()
    data = part.get_payload(decode=True) or b""
    if not isinstance(data, bytes):
        data = b""
    inner = read_document(name, data, settings) if kind_of(name, data) else None
    if inner is None:
        return Part(name, content_type, len(data), (), False, "not a readable attachment type")
    return Part(name, content_type, len(data), inner.pages, inner.readable, inner.reason, inner.ocr)


def read_pdf(name: str, data: bytes, settings: AgentSettings) -> Document:
    """A PDF's text per page; pages without a text layer are rendered and OCR'd."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # malformed PDFs warn; we report them ourselves
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not reader.decrypt(""):
                return unreadable("pdf", "the PDF is encrypted with a password; send it decrypted")
            pages = [p.extract_text() or "" for p in reader.pages[: settings.pdf_max_pages]]
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        return unreadable("pdf", f"corrupt or unreadable PDF: {exc}")
    except Exception as exc:  # pypdf raises assorted errors (dependency missing for AES ...)
        return unreadable("pdf", f"the PDF could not be read: {exc}")
    if sum(len(p.strip()) for p in pages) >= 20 * max(1, len(pages)) // 2:
        return Document("pdf", tuple(p.strip() for p in pages))
    return _ocr_pdf(data, settings)


def _ocr_pdf(data: bytes, settings: AgentSettings) -> Document:
    try:
        images = render_pdf_pages(data, settings.pdf_max_pages)
        pages = tuple(ocr_image(i, settings.ocr_languages, settings.ocr_timeout_s) for i in images)
    except ValidationError as exc:
        return unreadable("pdf", f"the PDF has no text layer and OCR failed: {exc.message}")
    except Exception as exc:  # pdfium's own errors for damaged files
        return unreadable("pdf", f"the PDF has no text layer and could not be rendered: {exc}")
    if not any(p.strip() for p in pages):
        return unreadable("pdf", "the PDF has no text layer and OCR found no text")
    return Document("pdf", pages, ocr=True)


def _decode(data: bytes) -> str | None:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def text_document(text: str) -> Document:
    """A message typed or pasted as text."""
    return Document("text", (text,), utterances=_utterances(text))
