"""OPC UA read/write/subscribe and ``opcua.write``, against an asyncua server started here."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from asyncua import Server, ua

from crmos.connectors import OpcUaSession, OpcUaWrite
from crmos.connectors.base import run_sync
from crmos.core.errors import PermanentError, TransientError
from crmos.core.settings import Settings
from crmos.sagas import StepContext
from tests.integration.connector_support import free_port

SETPOINT, RUNNING, COUNTER, SERIAL = (
    f"ns=2;s=Line1.{n}" for n in ("Setpoint", "Running", "Counter", "Serial")
)


class UaServer:
    """An asyncua server with a production line's variables, in its own thread and loop."""

    def __init__(self) -> None:
        self.url = f"opc.tcp://127.0.0.1:{free_port()}/crmos/"
        self.ready = threading.Event()
        self.failed: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> UaServer:
        self._thread.start()
        if not self.ready.wait(30) or self.failed:
            raise AssertionError(f"OPC UA server did not start: {self.failed}")
        return self

    def stop(self) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by start()
            self.failed = exc
            self.ready.set()

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        server = Server()
        await server.init()
        server.set_endpoint(self.url)
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        ns = await server.register_namespace("urn:crmos:test")
        line = await server.nodes.objects.add_object(ua.NodeId("Line1", ns), "Line1")
        for name, value, kind, writable in (
            ("Setpoint", 70.0, ua.VariantType.Double, True),
            ("Running", False, ua.VariantType.Boolean, True),
            ("Counter", 0, ua.VariantType.Int32, True),
            ("Serial", "SN-0001", ua.VariantType.String, False),
        ):
            node = await line.add_variable(ua.NodeId(f"Line1.{name}", ns), name, value, kind)
            if writable:
                await node.set_writable()
        async with server:
            self.ready.set()
            await self._stop.wait()


@pytest.fixture(scope="module")
def opcua() -> Iterator[UaServer]:
    server = UaServer().start()
    yield server
    server.stop()


def ctx() -> StepContext:
    return StepContext("run-1", "setpoint", 1, "run-1/setpoint")


async def read(url: str, node_id: str) -> tuple[object, str]:
    async with OpcUaSession(url) as session:
        reading = await session.read(node_id)
    return reading.value, reading.variant_type


def test_a_session_reads_a_value_with_its_type(opcua: UaServer) -> None:
    assert run_sync(read(opcua.url, SERIAL)) == ("SN-0001", "String")


def test_opcua_write_sets_the_value_and_compensation_restores_it(opcua: UaServer) -> None:
    action = OpcUaWrite(Settings(connectors={"opcua_servers": {"line": opcua.url}}))
    params = OpcUaWrite.params.model_validate(
        {"server": "line", "node_id": SETPOINT, "value": 72.5}
    )
    result = action.execute(ctx(), params)
    assert (result["previous"], result["previous_type"]) == (70.0, "Double")
    assert run_sync(read(opcua.url, SETPOINT)) == (72.5, "Double")
    action.compensate(ctx(), params, result)
    assert run_sync(read(opcua.url, SETPOINT)) == (70.0, "Double")


def test_a_write_keeps_the_nodes_type(opcua: UaServer) -> None:
    action = OpcUaWrite(Settings(connectors={"opcua_servers": {"line": opcua.url}}))
    params = OpcUaWrite.params.model_validate({"server": "line", "node_id": COUNTER, "value": 5})
    action.execute(ctx(), params)
    assert run_sync(read(opcua.url, COUNTER)) == (5, "Int32")


def test_a_subscription_reports_the_current_value_then_each_change(opcua: UaServer) -> None:
    async def scenario() -> list[object]:
        async with OpcUaSession(opcua.url) as watcher, OpcUaSession(opcua.url) as writer:
            changes = await watcher.subscribe([RUNNING], period_ms=20)
            seen = [(await changes.next(timeout=30)).value]
            await writer.write(RUNNING, True)
            seen.append((await changes.next(timeout=30)).value)
            await writer.write(RUNNING, False)
            seen.append((await changes.next(timeout=30)).value)
            await changes.close()
        return seen

    assert run_sync(scenario()) == [False, True, False]


@pytest.mark.parametrize(
    ("node_id", "words"),
    [(SERIAL, "BadUserAccessDenied"), ("ns=2;s=Line1.Nope", "BadNodeIdUnknown")],
)
def test_a_refused_write_is_permanent(opcua: UaServer, node_id: str, words: str) -> None:
    action = OpcUaWrite(Settings(connectors={"opcua_servers": {"line": opcua.url}}))
    params = OpcUaWrite.params.model_validate({"server": "line", "node_id": node_id, "value": "x"})
    with pytest.raises(PermanentError, match=words):
        action.execute(ctx(), params)
    assert run_sync(read(opcua.url, SERIAL)) == ("SN-0001", "String")


def test_a_server_that_is_down_is_transient() -> None:
    action = OpcUaWrite(
        Settings(connectors={"opcua_servers": {"line": f"opc.tcp://127.0.0.1:{free_port()}/"}})
    )
    params = OpcUaWrite.params.model_validate({"server": "line", "node_id": SETPOINT, "value": 1.0})
    with pytest.raises(TransientError, match="cannot connect"):
        action.execute(ctx(), params)


def test_unknown_servers_and_malformed_node_ids_are_refused() -> None:
    action = OpcUaWrite(Settings())
    params = OpcUaWrite.params.model_validate({"server": "line", "node_id": SETPOINT, "value": 1.0})
    with pytest.raises(PermanentError, match="unknown OPC UA server 'line'"):
        action.execute(ctx(), params)
    with pytest.raises(ValueError, match="not an OPC UA node id"):
        OpcUaWrite.params.model_validate({"server": "line", "node_id": "ns=x;q=", "value": 1})
