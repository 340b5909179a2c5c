"""ERP actions: draft a contract, check and hold credit (spec ``erp``)."""

from __future__ import annotations

from pydantic import Field

from crmos.connectors.actions import Params, SpecAction


class DraftContractParams(Params):
    """A framework agreement to draft."""

    customer_id: str = Field(min_length=1, description="The ERP's customer id.")
    title: str = Field(min_length=1, description="Contract title.")
    amount: float = Field(gt=0, description="Total contract value.")
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$", description="ISO 4217 code.")
    reference: str | None = Field(default=None, description="Business reference (run id).")


class ContractDraft(SpecAction):
    """``contract.draft``: create the contract in draft; compensation voids it."""

    name = "contract.draft"
    params = DraftContractParams
    connector = "erp"
    endpoint = "draft_contract"


class CreditCheckParams(Params):
    """An amount to check against the customer's credit limit and hold."""

    customer_id: str = Field(min_length=1, description="The ERP's customer id.")
    amount: float = Field(gt=0, description="Amount to hold against the credit limit.")
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$", description="ISO 4217 code.")
    reference: str | None = Field(default=None, description="Business reference (run id).")


class CreditCheck(SpecAction):
    """``erp.credit_check``: approve and hold the amount, or refuse (limit exceeded).

    Compensation releases the hold.
    """

    name = "erp.credit_check"
    params = CreditCheckParams
    connector = "erp"
    endpoint = "credit_check"
