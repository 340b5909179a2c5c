"""MES actions: reserve line capacity, read a device's alarm log, look up known defects."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from crmos.connectors.actions import Params, SpecAction


class ReserveCapacityParams(Params):
    """Capacity to reserve on a production line."""

    line: str = Field(min_length=1, description="Production line id, e.g. line-1.")
    quantity: int = Field(gt=0, description="Units to reserve.")
    reference: str | None = Field(default=None, description="Business reference (run id).")


class ReserveCapacity(SpecAction):
    """``mes.reserve_capacity``: reserve units on a line; compensation releases them."""

    name = "mes.reserve_capacity"
    params = ReserveCapacityParams
    connector = "mes"
    endpoint = "reserve_capacity"


class AlarmLogParams(Params):
    """Which device's alarm log to read."""

    device_id: str = Field(min_length=1, description="MES device id.")
    limit: int = Field(default=50, gt=0, le=1000, description="Most alarms to return.")


class AlarmLog(SpecAction):
    """``mes.alarm_log``: the device's alarms, newest first (a read: nothing to compensate)."""

    name = "mes.alarm_log"
    params = AlarmLogParams
    connector = "mes"
    endpoint = "alarm_log"


class DefectLookupParams(Params):
    """A device (or a firmware batch) whose known defects to look up."""

    device_id: str | None = Field(default=None, description="MES device id.")
    firmware_batch: str | None = Field(default=None, description="Firmware batch id.")
    alarm_code: str | None = Field(default=None, description="Only defects with this alarm.")

    @model_validator(mode="after")
    def _needs_a_subject(self) -> Self:
        if self.device_id is None and self.firmware_batch is None:
            raise ValueError("give device_id or firmware_batch")
        return self


class DefectLookup(SpecAction):
    """``mes.defect_lookup``: known firmware-batch defects, matched with the device's alarms.

    The answer's ``known_defect`` is the defect whose alarm code the device has raised, or
    ``None``: a service ticket can attach it instead of dispatching an engineer.
    """

    name = "mes.defect_lookup"
    params = DefectLookupParams
    connector = "mes"
    endpoint = "defect_lookup"
