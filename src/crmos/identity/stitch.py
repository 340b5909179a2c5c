"""Planning one batch of claims against a workspace's state, in memory, in log order.

Each claim's identifiers are taken strongest first. The event joins the profile of its
strongest known identifier; profiles its other identifiers lead to merge into it, and new
identifiers attach to it, unless that would break a per-type limit or join two accounts: then
the identifier is refused and a conflict records the evidence. ``stitcher.flush`` writes the
plan in a handful of statements.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crmos.core.ids import new_id
from crmos.identity.claims import Claim, Key
from crmos.identity.state import Live, WorkspaceState, account_of, statement_json
from crmos.identity.traits import apply_statement, combine


@dataclass(slots=True)
class Refusal:
    """An identifier the claim could not join: why, and which profile holds it (if any)."""

    kind: str
    key: Key
    owner: str | None


@dataclass(slots=True)
class Plan:
    """The writes one batch makes, gathered while planning."""

    state: WorkspaceState
    now_ms: int
    created: dict[str, Live] = field(default_factory=dict)
    identifiers: list[dict[str, Any]] = field(default_factory=list)
    merges: list[dict[str, Any]] = field(default_factory=list)
    absorbed: dict[str, tuple[str, str]] = field(default_factory=dict)
    dirty: set[str] = field(default_factory=set)
    events: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[dict[str, Any]] = field(default_factory=list)

    def add(self, claim: Claim) -> None:
        """Plan one claim."""
        st = self.state
        origins, parent, limits = st.origin, st.parent, st.policy.limits
        target: str | None = None
        anchor = ""
        target_key: Key | None = None
        pending: list[Key] = []
        counts: dict[str, int] = {}
        refused: list[Refusal] = []
        for key in claim.keys:
            origin = origins.get(key)
            if origin is None:
                kind = key[0]
                held = st.live[target].counts.get(kind, 0) if target else 0
                if held + counts.get(kind, 0) >= limits[kind]:
                    refused.append(Refusal("limit", key, None))
                else:
                    pending.append(key)
                    counts[kind] = counts.get(kind, 0) + 1
                continue
            root = st.find(origin) if origin in parent else origin
            if root == target:
                continue
            if target is None and not counts:
                account = st.live[root].account
                if claim.account is None or account is None or account == claim.account:
                    target, anchor, target_key = root, origin, key  # nothing else to check
                    continue
            why = self._incompatible(target, root, counts, claim.account)
            if why is not None:
                refused.append(Refusal(why, key, root))
            elif target is None:
                target, anchor, target_key = root, origin, key
            else:
                self._merge(target, root, (target_key or key, key), claim)
        self._settle(claim, target, anchor, pending, refused)

    def _incompatible(
        self, target: str | None, root: str, counts: dict[str, int], account: str | None
    ) -> str | None:
        st = self.state
        other = st.live[root]
        held = st.live[target] if target is not None else None
        accounts = {a for a in (account, other.account, held.account if held else None) if a}
        if len(accounts) > 1:
            return "account"
        for kind, n in other.counts.items():
            total = n + counts.get(kind, 0) + (held.counts.get(kind, 0) if held else 0)
            if total > st.policy.limits[kind]:
                return "limit"
        return None

    def _settle(
        self,
        claim: Claim,
        target: str | None,
        anchor: str,
        pending: list[Key],
        refused: list[Refusal],
    ) -> None:
        st = self.state
        if target is None and pending:
            target = anchor = self._create()
        if target is None:
            owners = [r.key for r in refused if r.owner is not None]
            if owners:  # every identifier belongs elsewhere: file it there, trust no traits
                self._event(claim, st.origin[owners[0]], None)
            self._conflicts(claim, None, refused)
            if claim.rejections:
                self._rejections(claim)
            return
        live = st.live[target]
        for key in pending:
            st.origin[key] = anchor
            live.counts[key[0]] = live.counts.get(key[0], 0) + 1
            self.identifiers.append(
                {
                    "workspace_id": st.workspace_id,
                    "type": key[0],
                    "value": key[1],
                    "profile_id": anchor,
                    "source": claim.source,
                    "seq": claim.seq,
                    "created_ms": self.now_ms,
                }
            )
        applied = claim.traits is not None and apply_statement(
            st.policy, live.traits, claim.traits, claim.source, claim.ts_ms
        )
        if applied:
            live.account = account_of(st.policy, live.traits)
            self.dirty.add(target)
        self._event(claim, anchor, claim.traits)
        if refused:
            self._conflicts(claim, target, refused)
        if claim.rejections:
            self._rejections(claim)

    def _create(self) -> str:
        pid = new_id("prf_")
        live = Live({}, {}, None)
        self.state.live[pid] = live
        self.created[pid] = live
        return pid

    def _merge(self, survivor: str, other: str, keys: tuple[Key, Key], claim: Claim) -> None:
        st = self.state
        merge_id = new_id("mrg_")
        st.parent[other] = survivor
        kept, gone = st.live[survivor], st.live.pop(other)
        for kind, n in gone.counts.items():
            kept.counts[kind] = kept.counts.get(kind, 0) + n
        kept.traits = combine(st.policy, kept.traits, gone.traits)
        kept.account = account_of(st.policy, kept.traits)
        self.dirty.add(survivor)
        self.absorbed[other] = (survivor, merge_id)
        evidence = {
            "rule": "shared identifier",
            "identifiers": {
                survivor: f"{keys[0][0]}:{keys[0][1]}",
                other: f"{keys[1][0]}:{keys[1][1]}",
            },
            "event": {"seq": claim.seq, "message_id": claim.message_id, "source": claim.source},
        }
        self.merges.append(
            {
                "id": merge_id,
                "workspace_id": st.workspace_id,
                "survivor_id": survivor,
                "other_id": other,
                "reason": "an event carried identifiers of both profiles",
                "evidence": evidence,
                "actor": "stream",
                "created_ms": self.now_ms,
            }
        )

    def _event(self, claim: Claim, profile_id: str, traits: dict[str, Any] | None) -> None:
        if claim.seq is not None:
            statement = None if traits is None else statement_json(traits)
            self.events.append(
                {
                    "seq": claim.seq,
                    "workspace_id": self.state.workspace_id,
                    "profile_id": profile_id,
                    "source": claim.source,
                    "ts_ms": claim.ts_ms,
                    "traits": statement,
                }
            )

    def _conflicts(self, claim: Claim, claimant: str | None, refused: list[Refusal]) -> None:
        st = self.state
        account = claim.account or (st.live[claimant].account if claimant else None)
        for r in refused:
            mark = (r.kind, r.key, r.owner, claimant)
            if mark in st.seen_conflicts:
                continue  # recorded already: repeats of one conflict add no evidence
            st.seen_conflicts.add(mark)
            owner = st.live.get(r.owner) if r.owner else None
            self.conflicts.append(
                {
                    "workspace_id": st.workspace_id,
                    "kind": r.kind,
                    "identifier_type": r.key[0],
                    "identifier_value": r.key[1],
                    "owner_id": r.owner,
                    "owner_account": owner.account if owner else None,
                    "claimant_id": claimant,
                    "claimant_account": account,
                    "source": claim.source,
                    "seq": claim.seq,
                    "evidence": {
                        "message_id": claim.message_id,
                        "event_identifiers": [f"{k}:{v}" for k, v in claim.keys],
                        "limit": st.policy.limit(r.key[0]) if r.kind == "limit" else None,
                    },
                    "created_ms": self.now_ms,
                }
            )

    def _rejections(self, claim: Claim) -> None:
        for r in claim.rejections:
            self.rejections.append(
                {
                    "workspace_id": self.state.workspace_id,
                    "type": r.type,
                    "value": r.raw,
                    "reason": r.reason,
                    "path": r.path,
                    "source": claim.source,
                    "seq": claim.seq,
                    "created_ms": self.now_ms,
                }
            )
