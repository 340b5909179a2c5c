"""Values of the compliance room: outcomes of erasure steps, findings of a scan, verdicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

OutcomeStatus = Literal[
    "erased", "deleted", "pseudonymised", "shredded", "confirmed", "not_present", "failed"
]
FAILED: frozenset[str] = frozenset({"failed"})


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one store or downstream system did with the subject's data."""

    target: str
    kind: Literal["store", "system", "file"]
    status: OutcomeStatus
    count: int = 0
    detail: str = ""
    confirmation: str | None = None
    elapsed_ms: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        out: dict[str, Any] = {
            "target": self.target,
            "kind": self.kind,
            "status": self.status,
            "count": self.count,
            "detail": self.detail,
            "elapsed_ms": round(self.elapsed_ms, 1),
        }
        if self.confirmation is not None:
            out["confirmation"] = self.confirmation
        return out


@dataclass(frozen=True, slots=True)
class Finding:
    """A readable copy found by a scan: where (table.column or a file) and how many."""

    where: str
    kind: Literal["table", "file"]
    count: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {"where": self.where, "kind": self.kind, "count": self.count}


@dataclass(frozen=True, slots=True)
class ScanResult:
    """A scan of every table and file for a subject's identifiers."""

    tables_scanned: int
    columns_scanned: int
    files_scanned: int
    bytes_scanned: int
    needles: int
    findings: tuple[Finding, ...] = ()
    elapsed_ms: float = 0.0

    @property
    def readable_copies(self) -> int:
        """How many rows and files still hold an identifier of the subject."""
        return sum(f.count for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "tables_scanned": self.tables_scanned,
            "columns_scanned": self.columns_scanned,
            "files_scanned": self.files_scanned,
            "bytes_scanned": self.bytes_scanned,
            "identifiers_searched": self.needles,
            "readable_copies": self.readable_copies,
            "findings": [f.as_dict() for f in self.findings],
            "elapsed_ms": round(self.elapsed_ms, 1),
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a marketing action may go ahead, and why, under which pack versions."""

    allowed: bool
    reason: str
    purpose: str
    channel: str
    regions: tuple[str, ...] = ()
    packs: dict[str, str] = field(default_factory=dict)
    decision_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "allowed": self.allowed,
            "reason": self.reason,
            "purpose": self.purpose,
            "channel": self.channel,
            "regions": list(self.regions),
            "packs": dict(self.packs),
            "decision_id": self.decision_id,
        }
