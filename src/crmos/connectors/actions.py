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
    ``reference`` and the step gives none, the run id is sent (see :func:`with_reference`).
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
        payload = with_reference(self.runner, self.connector, self.endpoint, params, ctx)
        return self.runner.call(self.connector, self.endpoint, payload, ctx)

    def compensate(self, ctx: StepContext, params: BaseModel, result: dict[str, Any]) -> None:
        """Call the endpoint the spec declares as this one's compensation (if any)."""
        payload = with_reference(self.runner, self.connector, self.endpoint, params, ctx)
        self.runner.compensate(self.connector, self.endpoint, payload, result, ctx)


def with_reference(
    runner: HttpRunner,
    connector: str,
    endpoint: str,
    params: BaseModel | dict[str, Any],
    ctx: StepContext,
) -> dict[str, Any]:
    """The params as the endpoint takes them: ``reference`` defaults to the run id when the
    endpoint declares one, so the target can tell which business action a side effect is for."""
    data = params.model_dump(exclude_none=True) if isinstance(params, BaseModel) else dict(params)
    declared = runner.spec(connector).endpoint(endpoint).params
    if "reference" in declared and "reference" not in data:
        data["reference"] = ctx.run_id
    return data
