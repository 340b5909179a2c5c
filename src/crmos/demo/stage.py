"""The demo's stage: every system its scenarios reach, on loopback, for as long as it runs.

The ERP, MES, SCM and service-desk simulators (their state kept in files, so that
`crmos demo scenarios` can count their side effects from another process), an SMTP sink, a
chat-webhook sink, and the erasure webhook of the demo's own files. :meth:`Stage.connectors`
is the ``connectors`` settings that point crmos at them.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from crmos.connectors.sim import DOMAINS, Simulator
from crmos.connectors.sim.state import SimState
from crmos.demo.eraser import FilesEraser
from crmos.demo.sinks import ChatSink, SmtpSink

SIMULATORS = ("erp", "mes", "scm", "servicedesk")
WEBHOOKS = ("csm", "director", "desk")
"""Chat groups the demo's playbooks post to (customer success, sales director, service desk)."""
FROM_ADDRESS = "Demo Customer Success <cs@demo.example.com>"


class Stage:
    """The demo's counterparts, started by :meth:`start` and stopped by :meth:`stop`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.simulators: dict[str, Simulator] = {}
        self.smtp: SmtpSink | None = None
        self.chat: ChatSink | None = None
        self.eraser: FilesEraser | None = None
        self._stack = ExitStack()

    def start(self) -> Stage:
        """Start everything on free loopback ports; a failure stops what already started."""
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "sims").mkdir(exist_ok=True)
        with ExitStack() as starting:
            for kind in SIMULATORS:
                sim = Simulator(kind, state=sim_state_path(self.folder, kind)).start()
                starting.callback(sim.stop)
                self.simulators[kind] = sim
            self.smtp = SmtpSink(self.folder).start()
            starting.callback(self.smtp.stop)
            self.chat = ChatSink(self.folder).start()
            starting.callback(self.chat.stop)
            self.eraser = FilesEraser(self.folder).start()
            starting.callback(self.eraser.stop)
            self._stack = starting.pop_all()
        (self.folder / "stage.json").write_text(json.dumps(self.describe(), indent=2))
        return self

    def stop(self) -> None:
        """Stop every counterpart (idempotent)."""
        self._stack.close()

    def __enter__(self) -> Stage:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def connectors(self) -> dict[str, Any]:
        """The ``connectors`` settings that send crmos's calls to this stage."""
        assert self.smtp is not None and self.chat is not None, "start the stage first"
        chat = self.chat.url
        return {
            "base_urls": {kind: sim.url for kind, sim in self.simulators.items()},
            "smtp": {"host": "127.0.0.1", "port": self.smtp.port, "from_address": FROM_ADDRESS},
            "chat_webhooks": {n: {"platform": "slack", "url": f"{chat}/{n}"} for n in WEBHOOKS},
        }

    def downstream(self) -> list[dict[str, Any]]:
        """The compliance ``downstream`` entry that makes erasures reach the demo's files."""
        assert self.eraser is not None, "start the stage first"
        return [{"name": "demo-files", "kind": "webhook", "url": self.eraser.url}]

    def describe(self) -> dict[str, Any]:
        """Where each counterpart listens (written to ``stage.json`` for the tour)."""
        settings = self.connectors()
        return {
            "simulators": settings["base_urls"],
            "smtp": f"smtp://127.0.0.1:{settings['smtp']['port']}",
            "chat": {name: hook["url"] for name, hook in settings["chat_webhooks"].items()},
            "erasure_webhook": self.downstream()[0]["url"],
        }


def sim_state_path(folder: Path, kind: str) -> Path:
    """The state file of one simulator of the demo."""
    return folder / "sims" / f"{kind}.sqlite"


def sim_stats(folder: Path, kind: str) -> dict[str, Any]:
    """A demo simulator's side-effect figures (``GET /_sim/stats``), read from its state file.

    Works whether or not the demo is running: SQLite lets a second process read the file.
    """
    path = sim_state_path(folder, kind)
    if not path.exists():
        return {"side_effects": 0, "duplicate_side_effects": 0, "references": {}}
    domain = DOMAINS[kind]
    state = SimState(path, domain.schema, domain.seed)
    try:
        return state.stats() | {"ledger": state.ledger()}
    finally:
        state.close()
