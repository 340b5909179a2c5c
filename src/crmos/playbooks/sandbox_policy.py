"""What a sandboxed component may do: its resource limits, and the rules its child process
enforces on every file it opens and every address it connects to.

Pure: the child's guard (``sandbox_child``) asks :class:`Policy` about each audited event, and
the parent builds the policy from the component's declarations. Also the wire format both
sides speak: length-prefixed JSON frames (never pickle: the parent must not unpickle what an
untrusted child sends).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
HEADER = struct.Struct(">I")
MAX_FRAME = 16 * 1024 * 1024


class ChildDied(Exception):
    """A sandbox child stopped answering: killed by a limit, crashed, overran its deadline, or
    could not start. A signal between the pool and the sandboxed action, which turns it into
    the step's ``SandboxViolation``; it never leaves the playbooks room."""

    def __init__(self, kind: str, detail: str) -> None:
        self.kind, self.detail = kind, detail
        super().__init__(detail)


@dataclass(frozen=True, slots=True)
class Limits:
    """Resources one call of a component may use (declared by the component, shown in the
    catalog): wall time, CPU time, and address space of its child process."""

    timeout_s: float = 10.0
    cpu_s: float = 2.0
    memory_mb: int = 768

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {"timeout_s": self.timeout_s, "cpu_s": self.cpu_s, "memory_mb": self.memory_mb}


DEFAULT_LIMITS = Limits()


def endpoints(hosts: Iterable[str], base_urls: Mapping[str, str]) -> list[str]:
    """The network endpoints (``host`` or ``host:port``) behind declared hosts: a logical
    system (``erp``) is its configured base URL's netloc; anything else is taken literally."""
    out: list[str] = []
    for host in hosts:
        base = base_urls.get(host)
        out.append(urlsplit(base).netloc if base else host)
    return out


@dataclass(slots=True)
class Policy:
    """The rules of one child: where it may write and read, and which endpoints it may reach.

    ``endpoints`` are ``host`` (any port) or ``host:port``; resolving a declared name adds the
    addresses it resolved to (:meth:`learn`), so a connect to those is allowed too and a
    connect to any other address is not.
    """

    scratch: str
    read_roots: tuple[str, ...]
    deny_roots: tuple[str, ...] = ()
    endpoints: tuple[str, ...] = ()
    learned: set[tuple[str, int | None]] = field(default_factory=set)

    def may_resolve(self, host: str) -> bool:
        """Whether ``host`` is a declared name (resolving others would leak it over DNS)."""
        return any(self._host_of(e) == host for e in self.endpoints)

    def learn(self, host: str, addresses: Iterable[str]) -> None:
        """Remember the addresses a declared ``host`` resolved to, with its declared port."""
        for endpoint in self.endpoints:
            if self._host_of(endpoint) == host:
                port = self._port_of(endpoint)
                self.learned.update((a, port) for a in addresses)

    def may_connect(self, address: Any) -> bool:
        """Whether a socket may connect (or send) to ``address`` (an AF_INET/AF_INET6 tuple)."""
        if not isinstance(address, tuple) or len(address) < 2:
            return False  # AF_UNIX paths and other families: never
        host, port = str(address[0]), address[1]
        for endpoint in self.endpoints:
            if self._host_of(endpoint) == host and self._port_of(endpoint) in (None, port):
                return True
        return (host, port) in self.learned or (host, None) in self.learned

    def may_write(self, path: str) -> bool:
        """Only under the scratch directory."""
        return _under(os.path.realpath(path), (self.scratch,))

    def may_read(self, path: str) -> bool:
        """Code and library data (``read_roots``) and the scratch directory, never a denied root
        (the store, crmos's home) and never another process's ``/proc`` entry."""
        real = os.path.realpath(path)
        if _under(real, self.deny_roots) or real.endswith("/environ"):
            return False
        return _under(real, (self.scratch, *self.read_roots))

    @staticmethod
    def _host_of(endpoint: str) -> str:
        return urlsplit("//" + endpoint).hostname or endpoint

    @staticmethod
    def _port_of(endpoint: str) -> int | None:
        try:
            return urlsplit("//" + endpoint).port
        except ValueError:
            return None

    def as_dict(self) -> dict[str, Any]:
        """What the parent sends the child."""
        return {
            "scratch": self.scratch,
            "read_roots": list(self.read_roots),
            "deny_roots": list(self.deny_roots),
            "endpoints": list(self.endpoints),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        """The policy the parent sent."""
        return cls(
            str(data["scratch"]),
            tuple(data["read_roots"]),
            tuple(data["deny_roots"]),
            tuple(data["endpoints"]),
        )


def _under(path: str, roots: Iterable[str]) -> bool:
    for root in roots:
        root = os.path.realpath(root)
        if path == root or path.startswith(root.rstrip("/") + "/"):
            return True
    return False


def is_write(mode: Any, flags: Any) -> bool:
    """Whether an ``open`` audit event opens for writing (``mode`` text or ``os.open`` flags)."""
    if isinstance(flags, int) and flags & WRITE_FLAGS:
        return True
    return isinstance(mode, str) and any(c in mode for c in "wax+")


def frame(message: Mapping[str, Any]) -> bytes:
    """One message on the wire."""
    body = orjson.dumps(message, default=str)
    return HEADER.pack(len(body)) + body


def unframe_length(header: bytes) -> int:
    """The body length a frame header announces; refuses absurd sizes."""
    (length,) = HEADER.unpack(header)
    if length > MAX_FRAME:
        raise ValueError(f"frame of {length} bytes is over {MAX_FRAME}")
    return int(length)
