"""crmos's own components (registered through the ``crmos.components`` entry points).

The seed's scenarios: the renewal-risk chain (ROI sheet from ERP billing data, a CSM task to
chat, a director alert card), e-mail, tagging a profile, the compliance-script check with
per-region forbidden words, a multi-channel conversation turned into a ticket, and the
insurance renewal app's claims history, rate factor and agent qualification.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from typing import Any, ClassVar, Literal
from urllib.parse import quote

import yaml
from pydantic import BaseModel, ConfigDict, Field

from crmos.core.errors import PermanentError
from crmos.playbooks.components import Sandbox


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _trait(sandbox: Sandbox, name: str, default: Any = None) -> Any:
    return sandbox.profile.get("traits", {}).get(name, default)


def company_of(traits: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The customer's ERP id and company name from a profile's traits.

    Segment's ``company`` trait is an object (``{"id", "name", ...}``) on identify and a plain
    name in older senders; ``customer_id`` wins as the ERP's key when a source sets it.
    """
    # Only keys that are there are read: in the sandbox, asking for a field the component
    # did not declare (``customer_id`` for most) is refused and fails the step.
    company = traits["company"] if "company" in traits else None  # noqa: SIM401
    if isinstance(company, Mapping):
        key, name = company.get("id"), company.get("name")
    else:
        key = name = company
    customer = (traits["customer_id"] if "customer_id" in traits else None) or key  # noqa: SIM401
    return (str(customer) if customer else None), (str(name) if name else None)


class RoiParams(_Params):
    """Where the sheet goes and what it is about."""

    product: str = Field(default="crmos", description="Product named in the sheet.")
    months: int = Field(default=12, ge=1, le=60, description="Billing months covered.")
    csm: str = Field(default="your customer-success manager", description="Signed by.")


class RoiSheet:
    """An ROI sheet from the customer's ERP billing account, e-mailed to the buyer."""

    name: ClassVar[str] = "billing.roi_sheet"
    description: ClassVar[str] = "ROI sheet from ERP billing data, e-mailed to the customer"
    params: ClassVar[type[BaseModel]] = RoiParams
    reads: ClassVar[tuple[str, ...]] = (
        "traits.email",
        "traits.name",
        "traits.company",
        "traits.customer_id",
        "traits.annual_value",
    )
    hosts: ClassVar[tuple[str, ...]] = ("erp", "email")
    impact: ClassVar[str] = "low"

    def run(self, sandbox: Sandbox, params: RoiParams) -> dict[str, Any]:
        """Read the billing account from the ERP, compute the sheet, send it."""
        email = _trait(sandbox, "email")
        if not email:
            raise PermanentError(
                self.name, "the profile has no traits.email to send the ROI sheet to"
            )
        key, company = company_of(sandbox.profile.get("traits", {}))
        customer = key or "unknown"
        account = sandbox.get(sandbox.url("erp", f"/customers/{quote(customer, safe='')}/credit"))
        value = float(_trait(sandbox, "annual_value", 0) or 0) * params.months / 12
        spent = float(account.get("held", 0)) or value / 3 or 1.0
        rows = [
            {"label": "Billed (credit used)", "value": f"{spent:,.0f}"},
            {"label": "Credit available", "value": f"{float(account.get('available', 0)):,.0f}"},
            {"label": "Value delivered", "value": f"{value:,.0f}"},
        ]
        roi = f"{value / spent:.1f}x" if spent else "n/a"
        context = {
            "name": _trait(sandbox, "name", ""),
            "company": company or customer,
            "product": params.product,
            "months": params.months,
            "rows": rows,
            "roi": roi,
            "csm": params.csm,
        }
        subject = f"Your {params.product} return on investment"
        message = {"to": [email], "subject": subject, "template": "roi_sheet", "context": context}
        # A sales push: e-mail.send checks the marketing consent of the profile and its address.
        sent = sandbox.act(
            "email.send",
            {**message, "purpose": "marketing", "profile_id": sandbox.profile.get("id")},
        )
        return {"roi": roi, "sent": sent}


class ChatParams(_Params):
    """The chat group and what to say."""

    webhook: str = Field(description="Chat webhook name (connectors.chat_webhooks).")
    text: str = Field(default="", description="Extra text (a template over the profile).")


class CsmTask:
    """A follow-up task for the customer-success manager, posted to their chat group."""

    name: ClassVar[str] = "csm.task"
    description: ClassVar[str] = "Task for the customer-success manager, posted to chat"
    params: ClassVar[type[BaseModel]] = ChatParams
    reads: ClassVar[tuple[str, ...]] = ("traits.company", "traits.name")
    hosts: ClassVar[tuple[str, ...]] = ("chat",)
    impact: ClassVar[str] = "low"

    def run(self, sandbox: Sandbox, params: ChatParams) -> dict[str, Any]:
        """Post the task."""
        who = _trait(sandbox, "name") or sandbox.profile.get("id")
        company = company_of(sandbox.profile.get("traits", {}))[1] or "?"
        text = f"Task: call {who} ({company}) about renewal. {params.text}"
        return sandbox.act("chat.post", {"webhook": params.webhook, "text": text.strip()})


class DirectorAlert:
    """A high-risk alert card to the sales director's chat group."""

    name: ClassVar[str] = "sales.alert_card"
    description: ClassVar[str] = "High-risk alert card for the sales director"
    params: ClassVar[type[BaseModel]] = ChatParams
    reads: ClassVar[tuple[str, ...]] = ("traits.company", "traits.annual_value")
    hosts: ClassVar[tuple[str, ...]] = ("chat",)
    impact: ClassVar[str] = "medium"

    def run(self, sandbox: Sandbox, params: ChatParams) -> dict[str, Any]:
        """Post the card."""
        company = company_of(sandbox.profile.get("traits", {}))[1] or "a customer"
        text = f"Renewal at risk: **{company}** (value {_trait(sandbox, 'annual_value', '?')})."
        card = {
            "webhook": params.webhook,
            "kind": "card",
            "title": "High renewal risk",
            "text": f"{text} {params.text}".strip(),
            "severity": "critical",
        }
        return sandbox.act("chat.post", card)


class EmailParams(_Params):
    """A message to the profile's own address."""

    subject: str = Field(min_length=1, description="Subject line.")
    text: str = Field(min_length=1, description="Plain-text body.")
    purpose: Literal["marketing", "transactional", "service"] = Field(
        default="marketing",
        description=(
            "Why the customer gets it: marketing (default; consent is checked when it is sent), "
            "or transactional / service (a contract or the customer's own request)."
        ),
    )


class Email:
    """An e-mail to the profile's address."""

    name: ClassVar[str] = "notify.email"
    description: ClassVar[str] = "E-mail to the customer's address"
    params: ClassVar[type[BaseModel]] = EmailParams
    reads: ClassVar[tuple[str, ...]] = ("traits.email",)
    hosts: ClassVar[tuple[str, ...]] = ("email",)
    impact: ClassVar[str] = "low"

    def run(self, sandbox: Sandbox, params: EmailParams) -> dict[str, Any]:
        """Send it."""
        email = _trait(sandbox, "email")
        if not email:
            raise PermanentError(self.name, "the profile has no traits.email")
        message = {"to": [email], "subject": params.subject, "text": params.text}
        who = {"purpose": params.purpose, "profile_id": sandbox.profile.get("id")}
        return sandbox.act("email.send", message | who)


class TagParams(_Params):
    """Traits to set on the profile."""

    traits: dict[str, str | int | float | bool] = Field(min_length=1, description="To set.")


class TagProfile:
    """Tag or flag the profile (its traits change through the event stream)."""

    name: ClassVar[str] = "profile.tag"
    description: ClassVar[str] = "Set tags or flags (traits) on the profile"
    params: ClassVar[type[BaseModel]] = TagParams
    reads: ClassVar[tuple[str, ...]] = ()
    hosts: ClassVar[tuple[str, ...]] = ("crmos",)
    impact: ClassVar[str] = "low"

    def run(self, sandbox: Sandbox, params: TagParams) -> dict[str, Any]:
        """Set the traits."""
        sandbox.tag(params.traits)
        return {"tagged": sorted(params.traits)}


class ScriptParams(_Params):
    """The outbound script to check."""

    script: str = Field(min_length=1, description="What the agent will say or send.")
    region: str | None = Field(default=None, description="Region; default the profile's.")


@cache
def forbidden_words() -> dict[str, tuple[str, ...]]:
    """Forbidden words per region (package data)."""
    text = files("crmos.playbooks.data").joinpath("forbidden_words.yaml").read_text("utf-8")
    return {k: tuple(w.lower() for w in v) for k, v in yaml.safe_load(text).items()}


class ScriptCheck:
    """The compliance-script check: refuses a script with the region's forbidden words."""

    name: ClassVar[str] = "compliance.script_check"
    description: ClassVar[str] = "Check an outbound script against the region's forbidden words"
    params: ClassVar[type[BaseModel]] = ScriptParams
    reads: ClassVar[tuple[str, ...]] = ("traits.country", "traits.region")
    hosts: ClassVar[tuple[str, ...]] = ()
    impact: ClassVar[str] = "low"

    def run(self, sandbox: Sandbox, params: ScriptParams) -> dict[str, Any]:
        """Pass, or fail the run (which compensates earlier steps)."""
        region = params.region or _trait(sandbox, "country") or _trait(sandbox, "region") or ""
        words = forbidden_words().get(str(region).upper())
        if words is None:
            raise PermanentError(self.name, f"no forbidden-word list for region '{region}'")
        found = [w for w in words if w in params.script.lower()]
        if found:
            raise PermanentError(
                self.name, f"script refused for {region}: forbidden {', '.join(found)}"
            )
        return {"region": str(region).upper(), "checked_words": len(words)}


class TicketParams(_Params):
    """Where the ticket goes and the conversation it sums up."""

    webhook: str = Field(description="Service desk chat webhook.")
    channels: list[str] = Field(min_length=1, description="Channels the conversation used.")
    summary: str = Field(min_length=1, description="What the customer asked.")


class ConversationTicket:
    """A multi-channel conversation turned into one service ticket."""

    name: ClassVar[str] = "service.ticket"
    description: ClassVar[str] = "Open one ticket for a multi-channel conversation"
    params: ClassVar[type[BaseModel]] = TicketParams
    reads: ClassVar[tuple[str, ...]] = ("traits.name", "traits.company")
    hosts: ClassVar[tuple[str, ...]] = ("chat",)
    impact: ClassVar[str] = "low"

    def run(self, sandbox: Sandbox, params: TicketParams) -> dict[str, Any]:
        """Open the ticket (idempotent: its id derives from the step's key)."""
        ticket = "T-" + hashlib.sha256(sandbox.ctx.idempotency_key.encode()).hexdigest()[:8]
        text = f"{ticket} via {', '.join(params.channels)}: {params.summary}"
        sandbox.act("chat.post", {"webhook": params.webhook, "text": text})
        return {"ticket_id": ticket}


class ClaimsParams(_Params):
    """Look-back of the claims history."""

    years: int = Field(default=3, ge=1, le=10, description="Years of claims considered.")


class ClaimsHistory:
    """The claims count of the policy holder (scenario 9)."""

    name: ClassVar[str] = "insurance.claims_history"
    description: ClassVar[str] = "Claims history of the policy holder"
    params: ClassVar[type[BaseModel]] = ClaimsParams
    reads: ClassVar[tuple[str, ...]] = ("traits.claims", "traits.policy_id")
    hosts: ClassVar[tuple[str, ...]] = ()
    impact: ClassVar[str] = "low"

    def run(self, sandbox: Sandbox, params: ClaimsParams) -> dict[str, Any]:
        """Count the claims."""
        claims = int(_trait(sandbox, "claims", 0) or 0)
        return {"claims": claims, "years": params.years, "policy_id": _trait(sandbox, "policy_id")}


class RateParams(_Params):
    """The base premium and the claims count."""

    base_premium: float = Field(gt=0, description="Premium before the factor.")
    claims: int = Field(ge=0, description="Claims in the look-back.")


class RateFactor:
    """The renewal rate factor from the claims count (scenario 9)."""

    name: ClassVar[str] = "insurance.rate_factor"
    description: ClassVar[str] = "Renewal rate factor and premium"
    params: ClassVar[type[BaseModel]] = RateParams
    reads: ClassVar[tuple[str, ...]] = ()
    hosts: ClassVar[tuple[str, ...]] = ()
    impact: ClassVar[str] = "medium"

    def run(self, sandbox: Sandbox, params: RateParams) -> dict[str, Any]:
        """0.9 without claims, +15% per claim, capped at 2.0."""
        factor = min(2.0, 0.9 + 0.15 * params.claims)
        return {"factor": round(factor, 2), "premium": round(params.base_premium * factor, 2)}


class AgentParams(_Params):
    """The agents and their licences."""

    agents: dict[str, list[str]] = Field(min_length=1, description="Agent -> licensed regions.")


class AgentQualification:
    """Picks an agent licensed in the customer's region (scenario 9)."""

    name: ClassVar[str] = "insurance.agent_qualification"
    description: ClassVar[str] = "An agent qualified for the customer's region"
    params: ClassVar[type[BaseModel]] = AgentParams
    reads: ClassVar[tuple[str, ...]] = ("traits.country",)
    hosts: ClassVar[tuple[str, ...]] = ()
    impact: ClassVar[str] = "low"

    def run(self, sandbox: Sandbox, params: AgentParams) -> dict[str, Any]:
        """The first licensed agent, or fail the run."""
        region = str(_trait(sandbox, "country", "")).upper()
        for agent, regions in sorted(params.agents.items()):
            if region in {r.upper() for r in regions}:
                return {"agent": agent, "region": region}
        raise PermanentError(self.name, f"no agent is licensed for region '{region}'")
