"""Log records that carry no personal data: exception messages are withheld.

An exception's message often quotes the value that broke a rule (an e-mail address a validator
refused, a row a database rejected), and log files are copied, shipped and kept beyond any
erasure. So crmos loggers never write one: an exception passed as an argument is logged as its
class and stable ``code``, and a traceback keeps its frames but not its messages. The full
error stays in the store (``stream_failures``, a run's timeline), which an erasure reaches.
"""

from __future__ import annotations

import logging
import traceback

WITHHELD = "(message withheld: it may hold personal data)"


def describe(exc: BaseException) -> str:
    """An exception as its class and code, without its message."""
    code = getattr(exc, "code", None)
    name = f"{type(exc).__module__}.{type(exc).__qualname__}"
    return f"{name}[{code}]" if isinstance(code, str) else name


def safe_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` (and its causes) with every message withheld."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = "".join(traceback.format_tb(current.__traceback__))
        parts.append(f"Traceback (most recent call last):\n{frames}{describe(current)}: {WITHHELD}")
        current = current.__cause__ or current.__context__
    return "\n\nwhich was caused by:\n\n".join(parts)


class WithholdMessages(logging.Filter):
    """Replaces exceptions among a record's arguments, and its traceback, by safe forms."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` in place; never drops it."""
        if isinstance(record.args, tuple):
            record.args = tuple(
                describe(a) if isinstance(a, BaseException) else a for a in record.args
            )
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = safe_traceback(record.exc_info[1])
        return True


_FILTER = WithholdMessages()


def get_logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)`` with exception messages withheld from its records."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger
