"""``http.call``: call any endpoint of any connector spec by name."""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field, model_validator

from crmos.connectors.actions import Params, SpecAction, with_reference
from crmos.connectors.spec import find_spec, validate_params
from crmos.core.errors import UnknownName, ValidationError
from crmos.sagas import StepContext


class HttpCallParams(Params):
    """A spec endpoint and its params; checked against the spec before a run starts."""

    connector: str = Field(description="Connector spec name, e.g. erp.")
    endpoint: str = Field(description="Endpoint name declared in that spec.")
    params: dict[str, Any] = Field(default={}, description="The endpoint's params.")

    @model_validator(mode="after")
    def _declared(self) -> Self:
        try:
            validate_params(find_spec(self.connector), self.endpoint, self.params)
        except UnknownName as exc:
            raise ValueError(exc.message) from None
        except ValidationError as exc:
            details = "; ".join(f"params.{p.path}: {p.message}" for p in exc.problems)
            raise ValueError(details) from None
        return self


class HttpCall(SpecAction):
    """``http.call``: the generic form of every spec action, compensated as the spec says."""

    name = "http.call"
    params = HttpCallParams

    def execute(self, ctx: StepContext, params: Any) -> dict[str, Any]:
        """Call ``params.connector``'s ``params.endpoint``."""
        payload = with_reference(self.runner, params.connector, params.endpoint, params.params, ctx)
        return self.runner.call(params.connector, params.endpoint, payload, ctx)

    def compensate(self, ctx: StepContext, params: Any, result: dict[str, Any]) -> None:
        """Call the compensation the spec declares for that endpoint (if any)."""
        payload = with_reference(self.runner, params.connector, params.endpoint, params.params, ctx)
        self.runner.compensate(params.connector, params.endpoint, payload, result, ctx)
