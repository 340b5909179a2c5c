"""The compliance consumer of the event stream.

- ``identify`` events (and ``context.traits``) tell where a person's law comes from: country
  traits, phone region, address. Each profile's regions and locale are kept up to date.
- A complaint (a ``track`` event named in ``complaint_events``, ``Complaint Submitted`` by
  default) is recorded with its response due time. When its text asks for deletion in the
  words of a governing pack (``löschen``, ``delete my`` ...) an erasure request is received in
  the same transaction, and a Decision says why; the DSR worker runs it right after.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection

from crmos.compliance.complaints import record_complaint
from crmos.compliance.config import ComplianceConfig
from crmos.compliance.dsr import DsrService
from crmos.compliance.jurisdiction import locale_of, regions_of
from crmos.compliance.packbook import in_force
from crmos.compliance.ports import DueTime
from crmos.compliance.regions import regions_for, remember_regions
from crmos.compliance.settings_store import SettingsStore
from crmos.core.clock import now_ms
from crmos.core.event import Event
from crmos.ingest import Consumer
from crmos.store import Decision, record_decision


class ComplianceConsumer(Consumer):
    """Keeps profile regions, records complaints and starts erasures they ask for."""

    name = "compliance"

    def __init__(
        self,
        settings: SettingsStore,
        dsr: DsrService,
        due: DueTime,
        on_request: Callable[[], None] = lambda: None,
    ) -> None:
        self._settings = settings
        self._dsr = dsr
        self._due = due
        self._on_request = on_request

    def handle(self, conn: Connection, events: Sequence[Event]) -> None:
        """Apply ``events`` in log order."""
        started = False
        wanted = [e for e in events if _traits(e) or self._is_complaint(e)]
        # One lookup for the batch: a query per event cost the consumer a tenth of its time.
        profiles = self._dsr.directory.profiles_for_events(conn, wanted)
        for event, profile_id in zip(wanted, profiles, strict=True):
            traits = _traits(event)
            if traits:
                regions = regions_of(traits)
                locale = locale_of(traits)
                if regions or locale:
                    remember_regions(conn, event.workspace_id, profile_id, regions, locale)
            if self._is_complaint(event):
                config = self._settings.get(event.workspace_id)
                started |= self._complaint(conn, event, profile_id, config)
        if started:
            self._on_request()

    def _is_complaint(self, event: Event) -> bool:
        return (
            event.type == "track"
            and event.name in self._settings.get(event.workspace_id).complaint_events
        )

    def _complaint(
        self, conn: Connection, event: Event, profile_id: str, config: ComplianceConfig
    ) -> bool:
        props = event.body.get("properties") or {}
        received_ms = int(event.timestamp.timestamp() * 1000)
        team = props.get("team") if isinstance(props.get("team"), str) else None
        handled_ms = int(event.received_at.timestamp() * 1000)
        record_complaint(
            conn,
            event.workspace_id,
            profile_id,
            event.message_id,
            min(received_ms, handled_ms),
            config,
            self._due,
            team,
            decided_ms=max(handled_ms, now_ms()),
        )
        text = next(
            (v for f in config.complaint_text_fields if isinstance(v := props.get(f), str)), ""
        )
        if not (config.erase_on_complaint and text):
            return False
        return self._erasure_asked(conn, event, profile_id, config, text)

    def _erasure_asked(
        self,
        conn: Connection,
        event: Event,
        profile_id: str,
        config: ComplianceConfig,
        text: str,
    ) -> bool:
        ws = event.workspace_id
        regions = regions_for(conn, ws, profile_id, config.default_region)
        now_ms = int(event.received_at.timestamp() * 1000)
        for version in in_force(conn, ws, config.packs, now_ms).values():
            spec = version.spec
            phrase = spec.asks_erasure(text)
            governed = any(spec.governs(r) for r in regions)
            if phrase is None or not governed or "erasure" not in spec.requests:
                continue
            subject = self._dsr.directory.by_profile(conn, ws, profile_id)
            origin = f"event:{event.message_id}"
            request = self._dsr.receive_in(
                conn, ws, "erasure", subject, origin, "compliance.stream"
            )
            article = spec.requests["erasure"].article
            record_decision(
                conn,
                Decision(
                    workspace_id=ws,
                    kind="compliance.erasure_requested",
                    rule=spec.id,
                    version=spec.version,
                    reason=f"the complaint asks for deletion ('{phrase}'): {spec.name} {article}",
                    subject_profile_id=profile_id,
                    inputs={"regions": list(regions), "phrase": phrase},
                    event_ids=[event.message_id],
                    actions=[{"action": "dsr.erasure", "request": request.id}],
                ),
            )
            return True
        return False


def _traits(event: Event) -> dict[str, Any]:
    found: dict[str, Any] = {}
    context = event.body.get("context") or {}
    own = event.body.get("traits") if event.type == "identify" else None
    for source in (context.get("traits"), own):
        if isinstance(source, dict):
            found.update(source)
    return found
