"""The demo's own files as a downstream system that an erasure must reach.

`crmos demo` keeps the world's ground truth (``ground_truth.csv``) and its cast (``cast.json``)
under the home, where the erasure scan rightly finds them: they name real-looking people. So the
demo registers them as a downstream system speaking crmos's erasure webhook (see
docs/compliance.md): ``POST /erase`` with the person's identifiers removes every row of that
person from both files and answers with a confirmation (404 when it held nothing).
"""

from __future__ import annotations

import csv
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from crmos.demo.cast import CAST_FILE
from crmos.demo.loopback import LoopbackServer
from crmos.demo.model import IDENTIFIERS, World

GROUND_TRUTH = "ground_truth.csv"
ERASED = "erased.sha256"
"""SHA-256 digests of the identifiers of people erased here, one a line: a re-run of the demo
must not bring them back, and a digest is no readable copy of the identifier."""


def _digest(value: str) -> str:
    return hashlib.sha256(value.lower().encode()).hexdigest()


def erased_digests(folder: Path) -> set[str]:
    """The digests of every identifier erased from the demo's files so far."""
    path = folder / ERASED
    return set(path.read_text().split()) if path.exists() else set()


def forget_erased(world: World, folder: Path) -> World:
    """The world without the people erased by an earlier demo, and without their events."""
    gone = erased_digests(folder)
    if not gone:
        return world
    names = {p.id: {getattr(p, k) for k, _ in IDENTIFIERS} - {None} for p in world.people}
    erased = {pid for pid, values in names.items() if any(_digest(v) in gone for v in values)}
    if not erased:
        return world
    hidden = set().union(*(names[pid] for pid in erased))
    events = [e for e in world.events if not {e.get("userId"), e.get("anonymousId")} & hidden]
    people = [p for p in world.people if p.id not in erased]
    return World(world.companies, people, events)


def erase_people(folder: Path, values: set[str]) -> int:
    """Remove every ground-truth row of the people holding one of ``values``, and the cast's
    events that name them; how many rows and events went."""
    removed = 0
    with (folder / ERASED).open("a", encoding="utf-8") as fh:
        fh.writelines(f"{_digest(v)}\n" for v in sorted(values))
    truth = folder / GROUND_TRUTH
    if truth.exists():
        with truth.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            fields, rows = list(reader.fieldnames or []), list(reader)
        people = {r["person_id"] for r in rows if r["identifier_value"].lower() in values}
        kept = [r for r in rows if r["person_id"] not in people]
        removed += len(rows) - len(kept)
        with truth.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            writer.writerows(kept)
    cast_path = folder / CAST_FILE
    if cast_path.exists():
        cast: dict[str, list[dict[str, Any]]] = json.loads(cast_path.read_text(encoding="utf-8"))
        for number, entries in cast.items():
            cast[number] = [e for e in entries if not _names(e) & values]
            removed += len(entries) - len(cast[number])
        cast_path.write_text(json.dumps(cast, ensure_ascii=False, indent=1), encoding="utf-8")
    return removed


def _names(entry: dict[str, Any]) -> set[str]:
    found = [entry.get("userId"), entry.get("anonymousId"), *entry.get("traits", {}).values()]
    return {v.lower() for v in found if isinstance(v, str)}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    folder: Path
    lock: threading.Lock


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        """Erase the people named by the request's identifiers."""
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        values = {str(i.get("value", "")).lower() for i in body.get("identifiers", [])} - {""}
        with self.server.lock:
            removed = erase_people(self.server.folder, values)
        status = 200 if removed else 404
        answer = {"erased": removed, "confirmation": f"demo files: {removed} rows removed"}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the erasure report says what happened."""


class FilesEraser(LoopbackServer):
    """The erasure webhook of the demo's files (``url`` is the endpoint), on a free port."""

    path = "/erase"

    def __init__(self, folder: Path) -> None:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.folder, server.lock = folder, threading.Lock()
        super().__init__(server)
