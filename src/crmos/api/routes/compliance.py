"""``/api/v1/compliance/...`` and ``/api/v1/audit/verify``: settings, packs, consent, the
marketing check, validators, legal holds, complaints, the heatmap and the audit chain."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from crmos.api.auth import AdminKey, ReadKey
from crmos.api.params import NOT_BLANK_PATTERN, PACK_NAME_PATTERN, Moment, epoch_ms
from crmos.api.problems import answers
from crmos.compliance import (
    Compliance,
    check,
    consent_history,
    describe,
    known_validators,
    parse_pack,
)
from crmos.core.errors import NotFound
from crmos.store import ApiKey, verify_audit

router = APIRouter(prefix="/api/v1", tags=["compliance"])


def _svc(request: Request) -> Compliance:
    service: Compliance = request.app.state.container.compliance
    return service


def actor(key: ApiKey) -> str:
    """How an API key appears in the audit chain."""
    return f"key:{key.id}"


class NewPack(BaseModel):
    """A pack version to publish."""

    yaml: str = Field(description="The pack as YAML (same schema as the shipped packs).")
    effective_at: Moment | None = Field(default=None, description="In force from (default now).")


class NewConsent(BaseModel):
    """A consent statement."""

    profile_id: str = Field(min_length=1, max_length=64)
    purpose: str = Field(
        max_length=64, pattern=NOT_BLANK_PATTERN, description="marketing, profiling, ..."
    )
    channel: str = Field(
        default="*", max_length=32, pattern=NOT_BLANK_PATTERN, description="email, sms, ... or *"
    )
    state: Literal["granted", "withdrawn"]
    source: str = Field(
        max_length=200, pattern=NOT_BLANK_PATTERN, description="Where it was given."
    )
    at: Moment | None = Field(default=None, description="When the person gave it (default now).")


class MarketingCheck(BaseModel):
    """A marketing action to check."""

    profile_id: str = Field(min_length=1, max_length=64)
    purpose: str = Field(default="marketing", max_length=64)
    channel: str = Field(default="email", max_length=32)


class NewHold(BaseModel):
    """A legal hold."""

    profile_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(
        max_length=2000, pattern=NOT_BLANK_PATTERN, description="The law that requires it."
    )


class ValueCheck(BaseModel):
    """A value to check with one validator."""

    validator: str = Field(
        min_length=1,
        max_length=64,
        description="br.cpf, eu.vat, iban, email, phone:BR, stdnum:MODULE ... "
        "(GET /api/v1/compliance/validators lists them)",
    )
    value: str = Field(max_length=1000)


@router.get("/compliance/settings", summary="The workspace's compliance settings")
def get_settings(request: Request, key: ReadKey) -> dict[str, Any]:
    """Packs, validators, default region, locale, teams, downstream systems."""
    svc = _svc(request)
    with svc.engine.connect() as conn:
        config, version = svc.settings.read(conn, key.workspace_id)
    return {"version": version, "settings": config.model_dump()}


@router.put("/compliance/settings", summary="Replace the compliance settings")
def put_settings(request: Request, key: AdminKey, body: dict[str, Any]) -> dict[str, Any]:
    """Validated whole; every problem is named with its path. Audited."""
    config = _svc(request).settings.put(key.workspace_id, body, actor(key))
    return {"settings": config.model_dump()}


@router.get("/compliance/packs", summary="Installed packs and the versions in force")
def packs(request: Request, key: ReadKey) -> dict[str, Any]:
    """Every installed pack, the enabled versions in force now, and every stored version with
    its publish-to-enforcement time."""
    svc = _svc(request)
    return {
        "installed": svc.registry.names(),
        "in_force": {n: v.summary() for n, v in svc.in_force(key.workspace_id).items()},
        "versions": [v.summary() for v in svc.versions(key.workspace_id)],
    }


@router.get("/compliance/packs/{name}", summary="A pack as it was in force at a time")
def pack(
    request: Request,
    key: ReadKey,
    name: Annotated[str, Path(pattern=PACK_NAME_PATTERN)],
    at: Annotated[Moment | None, Query(description="Default: now.")] = None,
) -> dict[str, Any]:
    """The version of ``name`` in force at ``at`` (the shipped one if never enabled)."""
    svc = _svc(request)
    version = svc.in_force(key.workspace_id, epoch_ms(at)).get(name)
    if version is not None:
        return {**version.summary(), "spec": version.spec.model_dump()}
    if name not in svc.registry.names():
        raise NotFound("pack", name)  # GET /api/v1/compliance/packs lists the installed ones
    spec = svc.registry.get(name)
    return {"pack": name, "version": spec.version, "enabled": False, "spec": spec.model_dump()}


@router.post(
    "/compliance/packs", status_code=201, summary="Publish a pack version", responses=answers(409)
)
def publish(request: Request, key: AdminKey, body: NewPack) -> dict[str, Any]:
    """A new version with an effective time; a published version never changes."""
    spec = parse_pack(body.yaml, "the pack")
    effective = epoch_ms(body.effective_at)
    return _svc(request).publish(key.workspace_id, spec, effective, actor(key)).summary()


@router.post("/compliance/consents", status_code=201, summary="Record consent")
def consent(request: Request, key: AdminKey, body: NewConsent) -> dict[str, Any]:
    """Grant or withdraw consent for a purpose on a channel, with its source and time."""
    fields = body.model_dump(exclude={"profile_id", "at"})
    return _svc(request).consent(
        key.workspace_id, body.profile_id, at_ms=epoch_ms(body.at), **fields
    )


@router.get("/compliance/consents/{profile_id}", summary="Consent history of a profile")
def consents(request: Request, key: ReadKey, profile_id: str) -> dict[str, Any]:
    """Every consent statement of a profile, oldest first."""
    svc = _svc(request)
    with svc.engine.connect() as conn:
        history = consent_history(conn, key.workspace_id, profile_id)
    return {"data": [c.as_dict() for c in history]}


@router.post("/compliance/check", summary="May this marketing action go ahead?")
def marketing_check(request: Request, key: AdminKey, body: MarketingCheck) -> dict[str, Any]:
    """The verdict with its reason; a blocked action is recorded as a Decision."""
    verdict = _svc(request).check_marketing(
        key.workspace_id, body.profile_id, body.purpose, body.channel
    )
    return verdict.as_dict()


@router.get("/compliance/validators", summary="Validators a workspace may configure")
def validators(key: ReadKey) -> dict[str, Any]:
    """Names and what each checks (plus phone:XX and stdnum:MODULE)."""
    del key
    return {"data": [{"name": n, "checks": describe(n)} for n in known_validators()]}


@router.post("/compliance/validate", summary="Check one value")
def validate_value(key: ReadKey, body: ValueCheck) -> dict[str, Any]:
    """Whether ``value`` passes ``validator``, and why not."""
    del key
    problem = check(body.validator, "value", body.value)
    return {"valid": problem is None, "problem": problem.as_dict() if problem else None}


@router.get("/compliance/holds", summary="Legal holds")
def holds(request: Request, key: ReadKey, profile_id: str | None = None) -> dict[str, Any]:
    """Legal holds of the workspace (of one profile)."""
    found = _svc(request).holds(key.workspace_id, profile_id)
    return {"data": [h.as_dict() for h in found]}


@router.post(
    "/compliance/holds", status_code=201, summary="Place a legal hold", responses=answers(404)
)
def place_hold(request: Request, key: AdminKey, body: NewHold) -> dict[str, Any]:
    """Blocks erasure of the profile while active, with the reason given."""
    return _svc(request).hold(key.workspace_id, body.profile_id, body.reason, actor(key))


@router.delete("/compliance/holds/{hold_id}", summary="Release a legal hold")
def release_hold(request: Request, key: AdminKey, hold_id: str) -> dict[str, Any]:
    """Erasure is possible again once no hold is active."""
    return _svc(request).release(key.workspace_id, hold_id, actor(key))


@router.get("/compliance/complaints", summary="Complaints and their SLA status")
def complaints(request: Request, key: ReadKey, breached: bool | None = None) -> dict[str, Any]:
    """Soonest due first; ``breached=true`` lists only the breaches."""
    data = _svc(request).complaints(key.workspace_id)
    if breached is not None:
        data = [c for c in data if c["breached"] == breached]
    return {"data": data}


@router.post("/compliance/complaints/{complaint_id}/answer", summary="Answer a complaint")
def answer(request: Request, key: AdminKey, complaint_id: str) -> dict[str, Any]:
    """Mark the complaint answered now."""
    return _svc(request).answer(key.workspace_id, complaint_id, actor(key))


@router.get("/compliance/heatmap", summary="Compliance heatmap data per region")
def heatmap(request: Request, key: ReadKey) -> dict[str, Any]:
    """Packs in force, open requests and complaints with SLA status, breaches, consent
    coverage and a risk level, per region."""
    return _svc(request).heatmap(key.workspace_id)


@router.get("/audit/verify", summary="Verify the audit chain")
def audit_verify(request: Request, key: AdminKey) -> dict[str, Any]:
    """Every place the workspace's hash chain is broken (edited, removed or reordered)."""
    svc = _svc(request)
    with svc.engine.connect() as conn:
        breaks = [
            {"position": b.position, "problem": b.problem}
            for b in verify_audit(conn, key.workspace_id)
        ]
    return {"intact": not breaks, "breaks": breaks}
