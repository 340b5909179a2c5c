"""Files to documents: e-mail, transcripts, screenshots (OCR), PDFs (text layer or OCR), and
bad input that must become an unreadable document with a reason, never an exception."""

from __future__ import annotations

import io
import json
from email.message import EmailMessage
from importlib.resources import files

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter

from crmos.agent.clauses import extract_clauses
from crmos.agent.datasets.pdf import text_pdf
from crmos.agent.datasets.screenshots import render
from crmos.agent.documents import read_document
from crmos.bench.agent import char_errors
from crmos.core.settings import AgentSettings

SETTINGS = AgentSettings()
CONTRACT = [
    "1. Term\nThis Agreement commences on 1 January 2025 and remains in force for two years.",
    "2. Termination\nEither party may terminate this Agreement upon 30 days' written notice.",
]


def _email(
    sender: str | None, body: str, attachment: tuple[str, bytes, str] | None = None
) -> bytes:
    message = EmailMessage()
    if sender:
        message["From"] = sender
    message["To"] = "sales@example.com"
    message["Subject"] = "Contract renewal"
    message["Date"] = "Tue, 03 Mar 2026 10:00:00 +0000"
    message.set_content(body)
    if attachment:
        name, data, subtype = attachment
        maintype, _, sub = subtype.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=sub, filename=name)
    return message.as_bytes()


def test_an_email_gives_its_sender_subject_date_body_and_attachment_clauses() -> None:
    raw = _email(
        "Ann Lee <Ann@Example.com>",
        "Please renew.",
        ("msa.pdf", text_pdf(CONTRACT), "application/pdf"),
    )
    doc = read_document("mail.eml", raw, SETTINGS)
    assert doc.readable and doc.kind == "email"
    assert (doc.sender.email, doc.sender.name) == ("ann@example.com", "Ann Lee")
    assert doc.subject == "Contract renewal" and doc.occurred_at is not None
    assert doc.pages == ("Please renew.",)
    (part,) = doc.parts
    assert (part.name, part.readable, len(part.pages)) == ("msa.pdf", True, 2)
    assert [(c.type, c.page) for c in extract_clauses(part.pages)] == [
        ("term", 1),
        ("termination", 2),
    ]


def test_an_email_without_a_sender_is_read_with_no_sender() -> None:
    doc = read_document("mail.eml", _email(None, "Hello, any news?"), SETTINGS)
    assert doc.readable and doc.sender.identifiers() == []


def test_a_webvtt_transcript_keeps_its_speakers_and_times() -> None:
    vtt = (
        "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v Alice Chen>We want to renew.\n\n"
        "00:00:05.500 --> 00:00:08.000\n<v Bob>I will send the quote.\n"
    )
    doc = read_document("call.vtt", vtt.encode(), SETTINGS)
    assert [(u.speaker, u.text, u.start_s) for u in doc.utterances] == [
        ("Alice Chen", "We want to renew.", 1.0), ("Bob", "I will send the quote.", 5.5),
    ]  # fmt: skip


def test_srt_and_plain_transcripts_take_speakers_from_name_prefixes() -> None:
    srt = (
        "1\n00:00:01,000 --> 00:00:02,000\n张经理：我们想续约\n\n"
        "2\n00:00:03,000 --> 00:00:04,000\nBob: OK\n"
    )
    doc = read_document("call.srt", srt.encode(), SETTINGS)
    assert [(u.speaker, u.text) for u in doc.utterances] == [
        ("张经理", "我们想续约"),
        ("Bob", "OK"),
    ]
    txt = read_document("notes.txt", b"Alice: hi\nno speaker here\n", SETTINGS)
    assert [(u.speaker, u.text) for u in txt.utterances] == [
        ("Alice", "hi"),
        (None, "no speaker here"),
    ]


def test_a_generated_chat_screenshot_is_read_by_ocr() -> None:
    folder = files("crmos.agent") / "data" / "screenshots"
    truth = json.loads((folder / "truth.json").read_text("utf-8"))
    doc = read_document("chat-01.png", (folder / "chat-01.png").read_bytes(), SETTINGS)
    assert doc.readable and doc.ocr
    reference = truth["chat-01.png"]
    assert char_errors(reference, doc.pages[0]) / len("".join(reference.split())) <= 0.05
    assert doc.utterances[0].speaker == "张经理"


def test_a_scanned_chinese_contract_is_read_by_ocr_page_by_page() -> None:
    page = render(
        ["第1条 合同期限", "本合同期限为两年，自2025年1月1日起至2026年12月31日止。"], size=30
    )
    buffer = io.BytesIO()
    page.convert("RGB").save(buffer, format="PDF")
    doc = read_document("scan.pdf", buffer.getvalue(), SETTINGS)
    assert doc.readable and doc.ocr, doc.reason
    assert "2025年1月1日" in doc.pages[0]
    assert [c.type for c in extract_clauses(doc.pages)] == ["term"]


def _encrypted() -> bytes:
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(text_pdf(CONTRACT))))
    writer.encrypt(user_password="secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _blank_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 200), "white").save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog", "PDF"),
        ("secret.pdf", _encrypted(), "encrypted"),
        ("blank.png", _blank_png(), "no text found"),
        ("fake.png", b"this is not an image", "not a readable image"),
        ("empty.txt", b"   ", "empty"),
        ("slides.pptx", b"PK\x03\x04...", "unsupported file type '.pptx'"),
        ("latin1.txt", "caf\xe9 \x80\x81".encode("latin-1") + b"\xff\xfe\xfd", "not UTF-8"),
    ],
)
def test_bad_input_becomes_an_unreadable_document_with_the_reason(
    name: str, data: bytes, reason: str
) -> None:
    doc = read_document(name, data, SETTINGS)
    assert not doc.readable
    assert reason in doc.reason
