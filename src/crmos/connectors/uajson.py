"""OPC UA PubSub JSON messages (OPC 10000-14, JSON message mapping), as sent over MQTT.

A NetworkMessage ``{"MessageId", "MessageType": "ua-data", "PublisherId", "Messages": [...]}``
holds DataSetMessages; each one's ``Payload`` maps field names to DataValues
``{"Value", "SourceTimestamp", "StatusCode"?}``. This is the shape OPC UA publishers such as
PLC gateways put on a broker, so crmos both produces and parses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from crmos.core.clock import utcnow
from crmos.core.errors import Problem, ValidationError


@dataclass(frozen=True, slots=True)
class UaValue:
    """One field of a DataSetMessage: a DataValue."""

    value: Any
    source_timestamp: datetime | None = None
    status_code: int = 0


@dataclass(frozen=True, slots=True)
class UaDataSet:
    """One DataSetMessage."""

    writer_id: int
    sequence_number: int
    values: dict[str, UaValue]
    timestamp: datetime | None = None


@dataclass(frozen=True, slots=True)
class UaNetworkMessage:
    """One ``ua-data`` NetworkMessage."""

    message_id: str
    publisher_id: str
    datasets: tuple[UaDataSet, ...]


def iso(moment: datetime) -> str:
    """OPC UA JSON DateTime: ISO 8601 in UTC with a ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def ua_data_message(
    values: Mapping[str, Any],
    *,
    message_id: str,
    publisher_id: str,
    writer_id: int = 1,
    sequence_number: int = 0,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A NetworkMessage with one DataSetMessage holding ``values`` as DataValues."""
    stamp = iso(now or utcnow())
    payload = {name: {"Value": value, "SourceTimestamp": stamp} for name, value in values.items()}
    dataset = {
        "DataSetWriterId": writer_id,
        "SequenceNumber": sequence_number,
        "Timestamp": stamp,
        "Payload": payload,
    }
    return {
        "MessageId": message_id,
        "MessageType": "ua-data",
        "PublisherId": publisher_id,
        "Messages": [dataset],
    }


def parse_ua_data(data: bytes | str | Mapping[str, Any]) -> UaNetworkMessage:
    """Parse a ``ua-data`` NetworkMessage; one :class:`ValidationError` lists every problem."""
    try:
        message = data if isinstance(data, Mapping) else orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ValidationError("OPC UA JSON message", [Problem("(body)", str(exc))]) from exc
    problems: list[Problem] = []
    if not isinstance(message, Mapping):
        raise ValidationError("OPC UA JSON message", [Problem("(root)", "expected an object")])
    if message.get("MessageType") != "ua-data":
        problems.append(Problem("MessageType", "must be 'ua-data'"))
    for name in ("MessageId", "PublisherId"):
        if not isinstance(message.get(name), str | int):
            problems.append(Problem(name, "required (a string)"))
    raw_sets = message.get("Messages")
    if not isinstance(raw_sets, list) or not raw_sets:
        problems.append(Problem("Messages", "required (a non-empty list)"))
        raw_sets = []
    datasets = [_dataset(raw, f"Messages[{i}]", problems) for i, raw in enumerate(raw_sets)]
    if problems:
        raise ValidationError("OPC UA JSON message", problems)
    return UaNetworkMessage(str(message["MessageId"]), str(message["PublisherId"]), tuple(datasets))


def _dataset(raw: Any, path: str, problems: list[Problem]) -> UaDataSet:
    if not isinstance(raw, Mapping):
        problems.append(Problem(path, "expected an object"))
        return UaDataSet(0, 0, {})
    payload = raw.get("Payload")
    if not isinstance(payload, Mapping):
        problems.append(Problem(f"{path}.Payload", "required (an object)"))
        payload = {}
    values = {}
    for name, field in payload.items():
        here = f"{path}.Payload.{name}"
        if not isinstance(field, Mapping) or "Value" not in field:
            problems.append(Problem(here, "expected a DataValue with Value"))
            continue
        values[str(name)] = UaValue(
            field["Value"],
            _time(field.get("SourceTimestamp"), f"{here}.SourceTimestamp", problems),
            _status(field.get("StatusCode")),
        )
    return UaDataSet(
        int(raw.get("DataSetWriterId", 0)),
        int(raw.get("SequenceNumber", 0)),
        values,
        _time(raw.get("Timestamp"), f"{path}.Timestamp", problems),
    )


def _time(value: Any, path: str, problems: list[Problem]) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        problems.append(Problem(path, f"not an ISO 8601 time: {value!r}"))
        return None


def _status(value: Any) -> int:
    """A StatusCode as a number (JSON encodes it as a number, or as ``{"Code": n, ...}``)."""
    if isinstance(value, Mapping):
        value = value.get("Code", 0)
    return int(value or 0)
