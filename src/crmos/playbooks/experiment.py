"""Experiment results: per variant, the profiles assigned, those who reached the outcome event
within its window after their first firing, the uplift over the control, and Fisher's exact
test (scipy) of each variant against the control.

A profile is assigned to the variant of its first firing that passed the audience and consent
checks (a profile outside the audience never entered the experiment); its window starts at the
time of the event that fired it. Events count for the live profile they belong to now, so a
merge after the firing still credits the conversion.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from crmos.identity import event_seqs, resolve, tree_ids
from crmos.playbooks.spec import ExperimentSpec
from crmos.store import EventLog
from crmos.triggers import parse_duration

NOT_ENTERED = ("not_in_audience", "no_consent")
SIGNIFICANCE = 0.05


@dataclass(frozen=True, slots=True)
class VariantResult:
    """One variant's figures; ``uplift`` and ``p_value`` compare it with the control."""

    name: str
    weight: int
    assigned: int
    converted: int
    control: bool
    uplift: float | None = None
    p_value: float | None = None

    @property
    def rate(self) -> float | None:
        """Converted / assigned (None before anyone is assigned)."""
        return self.converted / self.assigned if self.assigned else None

    @property
    def significant(self) -> bool:
        """Whether the difference from the control is significant at 5 %."""
        return self.p_value is not None and self.p_value < SIGNIFICANCE

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "variant": self.name,
            "weight": self.weight,
            "control": self.control,
            "assigned": self.assigned,
            "converted": self.converted,
            "conversion": self.rate,
            "uplift": self.uplift,
            "p_value": self.p_value,
            "significant": self.significant,
        }


@dataclass(frozen=True, slots=True)
class ExperimentResult:
    """The results of one playbook's experiment."""

    playbook_id: str
    version: str
    control: str | None
    outcome: dict[str, Any] | None
    variants: tuple[VariantResult, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "playbook_id": self.playbook_id,
            "version": self.version,
            "control": self.control,
            "outcome": self.outcome,
            "test": "Fisher's exact test, two-sided, each variant against the control",
            "variants": [v.as_dict() for v in self.variants],
        }


@dataclass(frozen=True, slots=True)
class Assignment:
    """A profile's place in the experiment: its variant and its first firing."""

    variant: str
    at_ms: int
    event_id: str


def assignments(firings: Iterable[Mapping[str, Any]]) -> dict[str, Assignment]:
    """Profile -> its assignment, over the firings that entered the split."""
    out: dict[str, Assignment] = {}
    for f in sorted(firings, key=lambda f: (f["created_ms"], f["id"])):
        if f.get("variant") and f["status"] not in NOT_ENTERED:
            found = Assignment(str(f["variant"]), int(f["created_ms"]), str(f["event_id"]))
            out.setdefault(str(f["profile_id"]), found)
    return out


def compare(
    spec: ExperimentSpec, assigned: Mapping[str, str], converted: set[str]
) -> tuple[VariantResult, ...]:
    """Per variant: assigned and converted profiles, uplift and p-value against the control."""
    counts = {name: [0, 0] for name in spec.variants}
    for profile, variant in assigned.items():
        if variant in counts:
            counts[variant][0] += 1
            counts[variant][1] += profile in converted
    base = counts.get(spec.control or "")
    out = []
    for name, weight in spec.variants.items():
        n, k = counts[name]
        uplift = p_value = None
        if base is not None and name != spec.control and n and base[0]:
            uplift = k / n - base[1] / base[0]
            table = [[k, n - k], [base[1], base[0] - base[1]]]
            from scipy.stats import fisher_exact  # a second to import: only a readout needs it

            p_value = float(fisher_exact(table, alternative="two-sided").pvalue)
        out.append(VariantResult(name, weight, n, k, name == spec.control, uplift, p_value))
    return tuple(out)


def converted_profiles(
    conn: Connection,
    log: EventLog,
    workspace_id: str,
    spec: ExperimentSpec,
    assigned: Mapping[str, Assignment],
) -> set[str]:
    """The profiles with an outcome event within the window after their first firing (from
    the time of the event that fired it), over every profile merged into the live one."""
    outcome = spec.outcome
    if outcome is None:
        return set()
    within = parse_duration(outcome.within)
    found = set()
    for profile, first in assigned.items():
        root = resolve(conn, workspace_id, profile) or profile
        tree = [str(p) for p in conn.execute(tree_ids(workspace_id, root)).scalars()]
        rows = log.headers(conn, workspace_id, event_seqs(conn, tree or [profile]))
        start = next((r.ts_ms for r in rows if r.message_id == first.event_id), first.at_ms)
        for row in rows:
            if row.name != outcome.event or (outcome.type and row.type != outcome.type):
                continue
            if row.message_id != first.event_id and start <= row.ts_ms <= start + within:
                found.add(profile)
                break
    return found
