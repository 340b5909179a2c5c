"""OPC UA read/write/subscribe on asyncua, and ``opcua.write``.

A write sets an absolute value, so repeating it (a retry) is harmless; ``opcua.write`` reads
the value first and returns it, and its compensation writes that value back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, ClassVar, Literal, Self

from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.subscription import DataChangeEvent, Subscription
from asyncua.ua.uaerrors import UaError, UaStatusCodeError, UaStringParsingError
from pydantic import BaseModel, Field, StrictBool, StrictFloat, StrictInt, field_validator

from crmos.connectors.actions import Params
from crmos.connectors.base import SettingsLike, connector_settings, run_sync
from crmos.core.errors import PermanentError, TransientError
from crmos.sagas import StepContext

VariantName = Literal[
    "Boolean",
    "SByte",
    "Byte",
    "Int16",
    "UInt16",
    "Int32",
    "UInt32",
    "Int64",
    "UInt64",
    "Float",
    "Double",
    "String",
]
SCALARS = frozenset(VariantName.__args__)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class UaReading:
    """A node's value as read (or as a subscription reported it)."""

    node_id: str
    value: Any
    variant_type: str
    source_timestamp: datetime | None = None
    status: str = "Good"


def _reading(node_id: str, data: ua.DataValue) -> UaReading:
    variant = data.Value
    status = data.StatusCode.name if data.StatusCode is not None else "Good"
    kind = variant.VariantType.name if variant is not None else "Null"
    value = variant.Value if variant is not None else None
    return UaReading(node_id, value, kind, data.SourceTimestamp, status)


class UaSubscription:
    """Data changes of the subscribed nodes, in arrival order."""

    def __init__(self, subscription: Subscription, target: str) -> None:
        self._subscription, self._target = subscription, target

    async def next(self, timeout: float) -> UaReading:
        """The next change; :class:`TimeoutError` when none arrives within ``timeout`` s."""
        while True:
            event = await self._subscription.next_event(timeout)
            if event is None:
                raise TimeoutError(f"no data change from {self._target} within {timeout}s")
            if isinstance(event, DataChangeEvent):
                data = event.data.monitored_item.Value
                return _reading(event.node.nodeid.to_string(), data)

    async def close(self) -> None:
        """Delete the subscription on the server."""
        await self._subscription.delete()


class OpcUaSession:
    """A client session with one server; ``async with OpcUaSession(url) as s: ...``."""

    def __init__(self, url: str, *, timeout_s: float = 10.0) -> None:
        self.url, self.timeout_s = url, timeout_s
        self._client = Client(url, timeout=timeout_s)

    async def __aenter__(self) -> Self:
        try:
            await asyncio.wait_for(self._client.connect(), self.timeout_s)
        except (OSError, TimeoutError) as exc:
            raise TransientError(self.url, f"cannot connect: {exc or type(exc).__name__}") from exc
        except UaError as exc:
            raise PermanentError(self.url, f"server refused the session: {exc}") from exc
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._client.disconnect()

    async def read(self, node_id: str) -> UaReading:
        """The node's current value."""
        node = self._client.get_node(node_id)
        data = await self._guard(node_id, node.read_data_value(raise_on_bad_status=False))
        if data.StatusCode is not None and not data.StatusCode.is_good():
            raise PermanentError(self._at(node_id), f"read failed: {data.StatusCode.name}")
        return _reading(node_id, data)

    async def write(self, node_id: str, value: Any, variant_type: str | None = None) -> None:
        """Set the node's value, as ``variant_type`` (default: the node's current type)."""
        node = self._client.get_node(node_id)
        if variant_type is None:
            variant_type = (await self.read(node_id)).variant_type
        variant = ua.Variant(value, ua.VariantType[variant_type])
        await self._guard(node_id, node.write_value(ua.DataValue(variant)))

    async def subscribe(self, node_ids: Sequence[str], period_ms: float = 50) -> UaSubscription:
        """Report every change of these nodes (the first report is each current value)."""
        subscription = await self._guard("subscribe", self._client.create_subscription(period_ms))
        nodes = [self._client.get_node(n) for n in node_ids]
        await self._guard("subscribe", subscription.subscribe_data_change(nodes))
        return UaSubscription(subscription, self.url)

    async def _guard(self, node_id: str, call: Any) -> Any:
        try:
            return await call
        except UaStatusCodeError as exc:
            raise PermanentError(self._at(node_id), str(exc)) from exc
        except (OSError, TimeoutError, ConnectionError) as exc:
            raise TransientError(self._at(node_id), f"{type(exc).__name__}: {exc}") from exc

    def _at(self, node_id: str) -> str:
        return f"{self.url} {node_id}"


class WriteParams(Params):
    """A value to write to one node of a named server."""

    server: str = Field(min_length=1, description="Server name in connectors.opcua_servers.")
    node_id: str = Field(description="Node id, e.g. ns=2;s=Line1.Setpoint.")
    value: StrictBool | StrictInt | StrictFloat | str = Field(description="The new value.")
    variant_type: VariantName | None = Field(
        default=None, description="OPC UA type (default: the node's current type)."
    )

    @field_validator("node_id")
    @classmethod
    def _node_id(cls, node_id: str) -> str:
        try:
            ua.NodeId.from_string(node_id)
        except (ValueError, UaStringParsingError) as exc:
            raise ValueError(f"not an OPC UA node id (e.g. ns=2;s=Name): {exc}") from None
        return node_id


class OpcUaWrite:
    """``opcua.write``: set a node's value; compensation restores the value read before."""

    name: ClassVar[str] = "opcua.write"
    params: ClassVar[type[BaseModel]] = WriteParams

    def __init__(self, settings: SettingsLike) -> None:
        config = connector_settings(settings)
        self.servers, self.timeout_s = config.opcua_servers, config.timeout_s

    def execute(self, ctx: StepContext, params: BaseModel) -> dict[str, Any]:
        """Read the current value, write the new one; return both."""
        assert isinstance(params, WriteParams)
        return run_sync(self._write(params, ctx.idempotency_key))

    def compensate(self, ctx: StepContext, params: BaseModel, result: dict[str, Any]) -> None:
        """Write back the value the node had before the step."""
        assert isinstance(params, WriteParams)
        run_sync(self._restore(params, result))

    async def _write(self, params: WriteParams, key: str) -> dict[str, Any]:
        async with OpcUaSession(self._url(params.server), timeout_s=self.timeout_s) as session:
            before = await session.read(params.node_id)
            if before.variant_type not in SCALARS:
                raise PermanentError(
                    params.node_id,
                    f"node holds a {before.variant_type}; opcua.write handles scalars only",
                )
            await session.write(
                params.node_id, params.value, params.variant_type or before.variant_type
            )
        return {
            "server": params.server,
            "node_id": params.node_id,
            "value": params.value,
            "previous": before.value,
            "previous_type": before.variant_type,
            "idempotency_key": key,
        }

    async def _restore(self, params: WriteParams, result: dict[str, Any]) -> None:
        async with OpcUaSession(self._url(params.server), timeout_s=self.timeout_s) as session:
            await session.write(params.node_id, result["previous"], result["previous_type"])

    def _url(self, server: str) -> str:
        if server not in self.servers:
            known = ", ".join(sorted(self.servers)) or "none configured"
            raise PermanentError(
                "opcua.write",
                f"unknown OPC UA server '{server}' (known: {known}); add it under "
                "connectors.opcua_servers",
            )
        return self.servers[server]
