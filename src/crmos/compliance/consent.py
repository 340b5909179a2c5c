"""Consent per purpose and channel, and the marketing check every room's actions call first.

Consent is an append-only history (who, which purpose and channel, granted or withdrawn, from
which source, when); the newest statement per purpose and channel is in force. A channel of
``*`` covers every channel.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, Engine, select

from crmos.compliance.model import Verdict
from crmos.compliance.pack import PackSpec
from crmos.compliance.packbook import PackVersion, in_force, mark_enforced
from crmos.compliance.regions import regions_for
from crmos.compliance.settings_store import read_config
from crmos.core.clock import now_ms
from crmos.core.errors import Problem, ValidationError
from crmos.core.ids import new_id
from crmos.identity import profile_of, suppressed
from crmos.sagas import CONSENT_FREE_PURPOSES, ConsentAnswer
from crmos.store import Decision, append_audit, record_decision
from crmos.store.tables_compliance import consents, dsr_requests

ConsentState = Literal["granted", "withdrawn"]
RULE = "compliance.marketing_check"


@dataclass(frozen=True, slots=True)
class Consent:
    """One consent statement."""

    id: str
    profile_id: str
    purpose: str
    channel: str
    state: ConsentState
    source: str
    at_ms: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "id": self.id,
            "profile_id": self.profile_id,
            "purpose": self.purpose,
            "channel": self.channel,
            "state": self.state,
            "source": self.source,
            "at_ms": self.at_ms,
        }


def record_consent(
    conn: Connection,
    workspace_id: str,
    profile_id: str,
    purpose: str,
    channel: str,
    state: ConsentState,
    source: str,
    at_ms: int | None = None,
) -> Consent:
    """Append a consent statement (caller's transaction); audited."""
    problems = [
        Problem(name, "must not be empty")
        for name, value in (("purpose", purpose), ("channel", channel), ("source", source))
        if not value.strip()
    ]
    if state not in ("granted", "withdrawn"):
        problems.append(Problem("state", f"'{state}'; use granted or withdrawn"))
    if problems:
        raise ValidationError("consent rejected", problems)
    now = now_ms()
    item = Consent(new_id("cns_"), profile_id, purpose, channel, state, source, at_ms or now)
    conn.execute(
        consents.insert().values(workspace_id=workspace_id, recorded_ms=now, **item.as_dict())
    )
    details = {"purpose": purpose, "channel": channel, "state": state, "source": source}
    append_audit(conn, workspace_id, f"source:{source}", f"consent.{state}", profile_id, details)
    return item


def consent_history(conn: Connection, workspace_id: str, profile_id: str) -> list[Consent]:
    """Every consent statement of a profile, oldest first."""
    rows = conn.execute(
        select(consents)
        .where(consents.c.workspace_id == workspace_id, consents.c.profile_id == profile_id)
        .order_by(consents.c.at_ms, consents.c.recorded_ms)
    ).all()
    return [
        Consent(r.id, r.profile_id, r.purpose, r.channel, r.state, r.source, r.at_ms) for r in rows
    ]


def consent_state(history: Iterable[Consent], purpose: str, channel: str) -> Consent | None:
    """The newest statement covering ``purpose`` on ``channel`` (``*`` statements included)."""
    found: Consent | None = None
    for item in history:
        if item.purpose == purpose and item.channel in (channel, "*"):
            found = item
    return found


def check_marketing(
    conn: Connection, workspace_id: str, profile_id: str, purpose: str, channel: str
) -> Verdict:
    """May ``purpose`` (``marketing``) reach ``profile_id`` on ``channel`` (``email``) now?

    Checks, in order: a marketing pause on the profile, an erasure request, and each enabled
    pack governing the person's regions (the purpose's lawful basis and the consent on record).
    A blocked action is recorded as a Decision with the reason; the verdict carries its id.
    """
    now = now_ms()
    config = read_config(conn, workspace_id)
    regions = regions_for(conn, workspace_id, profile_id, config.default_region)
    versions = {
        name: v
        for name, v in in_force(conn, workspace_id, config.packs, now).items()
        if any(v.spec.governs(r) for r in regions)
    }
    history = consent_history(conn, workspace_id, profile_id)
    reason, deciding = _blocker(conn, workspace_id, profile_id, purpose, channel, versions, history)
    mark_enforced(conn, versions.values(), now)
    packs = {name: v.version for name, v in versions.items()}
    if reason is None:
        return Verdict(True, _allowed_reason(versions, purpose), purpose, channel, regions, packs)
    rule = deciding.pack if deciding else RULE
    decision = Decision(
        workspace_id=workspace_id,
        kind="compliance.marketing_blocked",
        rule=rule,
        version=deciding.version if deciding else "1",
        reason=reason,
        subject_profile_id=profile_id,
        inputs={"purpose": purpose, "channel": channel, "regions": list(regions), "packs": packs},
        actions=[{"action": f"{purpose} via {channel}", "outcome": "blocked"}],
    )
    decision_id = record_decision(conn, decision)
    return Verdict(False, reason, purpose, channel, regions, packs, decision_id)


#: The identifier type an address of a channel is looked up as.
ADDRESS_KINDS = {"email": "email", "sms": "phone", "phone": "phone", "whatsapp": "phone"}


class ConsentGate:
    """The consent port of the run engine (:class:`crmos.sagas.ConsentPort`) on this store.

    Actions that send to a person ask it for each recipient, whoever started the run. An address
    is looked up as an identifier of the channel's kind; an address nobody holds falls back to
    the step's profile, and with neither the message is refused (no consent can be shown for a
    stranger). The answer is :func:`check_marketing`'s, which records every refusal as a Decision.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def check(
        self,
        workspace_id: str,
        *,
        purpose: str,
        channel: str,
        address: str | None = None,
        profile_id: str | None = None,
    ) -> ConsentAnswer:
        """The answer for one recipient (see the class docstring)."""
        if purpose in CONSENT_FREE_PURPOSES:
            return ConsentAnswer(True, f"a {purpose} message needs no consent", profile_id)
        with self.engine.begin() as conn:
            holder = _holder(conn, workspace_id, channel, address) or profile_id
            if holder is None:
                reason = (
                    f"no profile holds {address or 'this recipient'}, so no consent is on record"
                )
                return ConsentAnswer(False, reason)
            verdict = check_marketing(conn, workspace_id, holder, purpose, channel)
        return ConsentAnswer(verdict.allowed, verdict.reason, holder, verdict.decision_id)


def _holder(conn: Connection, workspace_id: str, channel: str, address: str | None) -> str | None:
    kind = ADDRESS_KINDS.get(channel)
    if address is None or kind is None:
        return None
    try:
        return profile_of(conn, workspace_id, kind, address)
    except ValidationError:
        return None  # not a valid address of that kind: nobody can hold it


def _blocker(
    conn: Connection,
    workspace_id: str,
    profile_id: str,
    purpose: str,
    channel: str,
    versions: dict[str, PackVersion],
    history: list[Consent],
) -> tuple[str | None, PackVersion | None]:
    if suppressed(conn, profile_id):
        return "marketing is paused for this profile (an identity conflict is under review)", None
    erasure = _erasure(conn, workspace_id, profile_id)
    if erasure is not None:
        return f"an erasure request ({erasure}) covers this profile", None
    statement = consent_state(history, purpose, channel)
    for version in versions.values():
        why = _pack_blocks(version.spec, purpose, channel, statement)
        if why is not None:
            return why, version
    if statement is not None and statement.state == "withdrawn":
        return _withdrawn(statement), None
    return None, None


def _pack_blocks(
    spec: PackSpec, purpose: str, channel: str, statement: Consent | None
) -> str | None:
    rule = spec.consent.get(purpose)
    if rule is None:
        return None
    cite = f"{spec.name} {rule.article}".strip()
    if rule.lawful_basis == "forbidden":
        return f"{purpose} is forbidden under {cite}"
    if rule.lawful_basis == "consent":
        if "*" not in rule.channels and channel not in rule.channels:
            return f"{cite} covers {purpose} only on {', '.join(rule.channels)}, not {channel}"
        if statement is None:
            return f"{cite} needs consent to {purpose} via {channel}; none is on record"
        if statement.state == "withdrawn":
            return _withdrawn(statement) + f" ({cite} needs consent)"
    opt_out = rule.lawful_basis in ("opt_out", "legitimate_interest")
    if opt_out and statement is not None and statement.state == "withdrawn":
        return _withdrawn(statement) + f" ({cite}: the person opted out)"
    return None


def _withdrawn(statement: Consent) -> str:
    return (
        f"consent to {statement.purpose} via {statement.channel} was withdrawn "
        f"(source {statement.source}, at {statement.at_ms})"
    )


def _allowed_reason(versions: dict[str, PackVersion], purpose: str) -> str:
    if not versions:
        return "no enabled pack governs this person's regions and no withdrawal is on record"
    bases = sorted(
        f"{v.pack}: {v.spec.consent[purpose].lawful_basis}"
        for v in versions.values()
        if purpose in v.spec.consent
    )
    return "allowed (" + ("; ".join(bases) or f"no pack restricts {purpose}") + ")"


def _erasure(conn: Connection, workspace_id: str, profile_id: str) -> str | None:
    return conn.execute(
        select(dsr_requests.c.id)
        .where(dsr_requests.c.workspace_id == workspace_id)
        .where(dsr_requests.c.profile_id == profile_id)
        .where(dsr_requests.c.kind == "erasure")
        .where(dsr_requests.c.status.in_(("received", "completed", "incomplete")))
        .limit(1)
    ).scalar_one_or_none()


def profiles_with_consent(
    conn: Connection, workspace_id: str, purpose: str, channel: str, state: ConsentState
) -> set[str]:
    """Profiles whose newest statement for ``purpose`` on ``channel`` (or ``*``) is ``state``.

    Profile ids are those the statements were recorded for; callers resolve merges.
    """
    c = consents.c
    rows = conn.execute(
        select(c.profile_id, c.state)
        .where(c.workspace_id == workspace_id, c.purpose == purpose, c.channel.in_([channel, "*"]))
        .order_by(c.at_ms, c.recorded_ms)
    )
    newest: dict[str, str] = {}
    for profile_id, held in rows:
        newest[profile_id] = held
    return {pid for pid, held in newest.items() if held == state}
