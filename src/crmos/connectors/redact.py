"""Keep connector secrets out of logs.

httpx logs every request URL at INFO, and chat webhook URLs carry their access token. Each
connector registers the secrets it uses; a filter on the HTTP client loggers replaces them.
"""

from __future__ import annotations

import logging
import threading

MASK = "***"
_LOGGERS = ("httpx", "httpcore.connection", "httpcore.http11", "crmos.connectors")


class _Redactor(logging.Filter):
    """Replaces every registered secret in a log record's message with ``***``."""

    def __init__(self) -> None:
        super().__init__("crmos.redact")
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secret: str) -> None:
        if len(secret) >= 4:  # shorter strings would mask ordinary words
            with self._lock:
                self._secrets.add(secret)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in sorted(self._secrets, key=len, reverse=True):
            redacted = redacted.replace(secret, MASK)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


_REDACTOR = _Redactor()
for _name in _LOGGERS:
    logging.getLogger(_name).addFilter(_REDACTOR)


def register_secret(*secrets: str | None) -> None:
    """Never let these strings reach a log line (e.g. a token, a webhook URL's query)."""
    for secret in secrets:
        if secret:
            _REDACTOR.add(secret)
