"""The base of actions backed by an HTTP connector spec endpoint (ERP, MES, SCM, ``http.call``)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from crmos.connectors.base import SettingsLike
from crmos.connectors.runner import HttpRunner
from crmos.sagas import StepContext


class Params(BaseModel):
    """Base of step params: unknown keys are refused, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SpecAction:
    """An action that calls one endpoint of a spec and undoes it with the declared compensation.

    Subclasses set ``name``, ``params``, ``connector`` and ``endpoint``. When the endpoint takes a
    ``reference`` and the step gives none, the run id is sent, so the target can tell which
    business action each side effect belongs to.
    """

    name: ClassVar[str]
    params: ClassVar[type[BaseModel]]
    connector: ClassVar[str]
    endpoint: ClassVar[str]

    def __init__(self, settings: SettingsLike, *, runner: HttpRunner | None = None) -> None:
        self.runner = runner or HttpRunner(settings)

    def close(self) -> None:
        """Release the runner's connections."""
        self.runner.close()

    def execute(self, ctx: StepContext, params: BaseModel) -> dict[str, Any]:
        """Call the endpoint with the step's idempotency key."""
        return self.runner.call(self.connector, self.endpoint, self.payload(ctx, params), ctx)

    def compensate(self, ctx: StepContext, params: BaseModel, result: dict[str, Any]) -> None:
        """Call the endpoint the spec declares as this one's compensation (if any)."""
        self.runner.compensate(
            self.connector, self.endpoint, self.payload(ctx, params), result, ctx
        )

    def payload(self, ctx: StepContext, params: BaseModel) -> dict[str, Any]:
        """The params as the endpoint takes them (``reference`` defaulting to the run id)."""
        data = params.model_dump(exclude_none=True)
        declared = self.runner.spec(self.connector).endpoint(self.endpoint).params
        if "reference" in declared and "reference" not in data:
            data["reference"] = ctx.run_id
        return data
