"""The demo's counterparts for e-mail and chat: an SMTP server and a chat-webhook receiver.

Both run on loopback inside the demo process and keep what they receive under the demo's
folder, so `GET /api/v1/demo/outbox`, the console and `crmos demo scenarios` can read it from
any process: mail as a Maildir (``outbox/``), chat messages as JSON lines (``chat.jsonl``).
"""

from __future__ import annotations

import json
import mailbox
import socket
import threading
import time
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from crmos.demo.loopback import LoopbackServer

OUTBOX = "outbox"
"""The Maildir of the SMTP sink, under the demo folder."""
CHAT_LOG = "chat.jsonl"
"""The chat sink's messages, one JSON object a line, under the demo folder."""


class _Maildir:
    """An aiosmtpd handler that files every message it accepts in a Maildir."""

    def __init__(self, path: Path) -> None:
        self.box = mailbox.Maildir(path, create=True)
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Accept the message; the envelope's recipients are kept beside its headers."""
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        message = mailbox.MaildirMessage(content)
        message["X-Envelope-To"] = ", ".join(str(r) for r in envelope.rcpt_tos)
        with self.lock:
            self.box.add(message)
        return "250 Message accepted for delivery"


class SmtpSink:
    """An SMTP server on a free loopback port that files every message in ``folder/outbox``."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / OUTBOX
        # aiosmtpd checks that it is up by connecting to its port, so it needs a known one.
        self.port = _free_port()
        self._controller = Controller(_Maildir(self.path), hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpSink:
        """Start serving in aiosmtpd's thread; returns self."""
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._controller.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_outbox(folder: Path) -> list[dict[str, Any]]:
    """The messages of the SMTP sink under ``folder``, oldest first, as JSON-ready data."""
    path = folder / OUTBOX
    if not path.is_dir():
        return []
    box = mailbox.Maildir(path, create=False)
    found = []
    for key in box.iterkeys():
        with box.get_file(key) as fh:
            parsed = message_from_bytes(fh.read(), policy=default_policy)
        assert isinstance(parsed, EmailMessage)  # the default policy makes EmailMessages
        found.append(_mail(key, parsed, (path / "new" / key).stat().st_mtime))
    return sorted(found, key=lambda m: (m["received"], m["id"]))


def _mail(key: str, message: EmailMessage, received: float) -> dict[str, Any]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return {
        "id": key,
        "received": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(received)),
        "message_id": str(message.get("Message-ID", "")),
        "from": str(message.get("From", "")),
        "to": [a.strip() for a in str(message.get("X-Envelope-To", "")).split(",") if a.strip()],
        "subject": str(message.get("Subject", "")),
        "text": text.get_content() if text is not None else "",
        "has_html": html is not None,
    }


class _ChatServer(ThreadingHTTPServer):
    daemon_threads = True
    log_path: Path
    lock: threading.Lock


class _ChatHandler(BaseHTTPRequestHandler):
    server: _ChatServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else {}
        except ValueError:
            body = {"raw": raw.decode("utf-8", "replace")}
        entry = {"webhook": self.path.strip("/"), "received_ms": time.time_ns() // 1_000_000}
        with self.server.lock, self.server.log_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry | {"body": body}, ensure_ascii=False) + "\n")
        self.send_response(200)  # what a Slack incoming webhook answers
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the demo prints its own summary."""


class ChatSink(LoopbackServer):
    """A Slack-style incoming-webhook receiver; ``{url}/NAME`` is the webhook called NAME."""

    def __init__(self, folder: Path) -> None:
        server = _ChatServer(("127.0.0.1", 0), _ChatHandler)
        server.log_path = folder / CHAT_LOG
        server.lock = threading.Lock()
        super().__init__(server)


def read_chat(folder: Path) -> list[dict[str, Any]]:
    """The chat sink's messages under ``folder``, oldest first."""
    path = folder / CHAT_LOG
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
