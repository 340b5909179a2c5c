"""MQTT publish/subscribe and OPC UA JSON over MQTT, against the real mosquitto of the test run."""

from __future__ import annotations

import os

import pytest

from crmos.connectors import MqttClient, MqttPublish, parse_ua_data, ua_data_message
from crmos.core.errors import TransientError
from crmos.core.ids import new_id
from crmos.core.settings import Settings
from crmos.sagas import StepContext
from tests.integration.connector_support import free_port


def broker() -> str:
    url = os.environ.get("CRMOS_TEST_MQTT_URL")
    if not url:
        pytest.fail("CRMOS_TEST_MQTT_URL is not set: run with scripts/with-services.sh (make test)")
    return url


def ctx(key: str = "run-1/publish") -> StepContext:
    return StepContext("run-1", "publish", 1, key)


def topic() -> str:
    return f"crmos-test/{new_id()}/line-1"


def publish(**params: object) -> dict[str, object]:
    action = MqttPublish(Settings(connectors={"mqtt_url": broker()}))
    return action.execute(ctx(), MqttPublish.params.model_validate(params))


def test_a_published_json_message_carries_the_idempotency_key() -> None:
    name = topic()
    with MqttClient(broker()) as client:
        inbox = client.subscribe(name)
        publish(topic=name, payload={"order": "o-1", "status": "released"})
        message = inbox.get(timeout=30)
    assert message.json() == {
        "order": "o-1",
        "status": "released",
        "idempotency_key": "run-1/publish",
    }
    assert message.properties == {"idempotency-key": "run-1/publish"}
    assert message.qos == 1


def test_opcua_format_publishes_a_ua_data_network_message() -> None:
    name = topic()
    with MqttClient(broker()) as client:
        inbox = client.subscribe(name)
        publish(
            topic=name,
            format="opcua",
            publisher_id="crmos-demo",
            writer_id=7,
            payload={"Setpoint": 72.5, "Running": True},
        )
        parsed = parse_ua_data(inbox.get(timeout=30).payload)
    assert (parsed.message_id, parsed.publisher_id) == ("run-1/publish", "crmos-demo")
    dataset = parsed.datasets[0]
    assert dataset.writer_id == 7
    assert {k: v.value for k, v in dataset.values.items()} == {"Setpoint": 72.5, "Running": True}
    assert dataset.values["Setpoint"].source_timestamp is not None


def test_a_subscriber_reads_opcua_json_published_by_a_gateway() -> None:
    base = topic()
    with MqttClient(broker()) as client:
        inbox = client.subscribe(f"{base}/+/ua")
        for n, machine in enumerate(("press-1", "press-2")):
            message = ua_data_message(
                {"Temperature": 40 + n},
                message_id=f"m{n}",
                publisher_id="gateway-7",
                sequence_number=n,
            )
            client.publish(f"{base}/{machine}/ua", message)
        got = [inbox.get(timeout=30) for _ in range(2)]
    temperatures = [parse_ua_data(m.payload).datasets[0].values["Temperature"].value for m in got]
    assert sorted(temperatures) == [40, 41]
    assert sorted(m.topic for m in got) == [f"{base}/press-1/ua", f"{base}/press-2/ua"]


def test_compensation_clears_the_retained_message_it_left() -> None:
    name = topic()
    action = MqttPublish(Settings(connectors={"mqtt_url": broker()}))
    params = MqttPublish.params.model_validate(
        {"topic": name, "payload": {"line": "line-1", "state": "reserved"}, "retain": True}
    )
    result = action.execute(ctx(), params)
    with MqttClient(broker()) as client:
        assert client.subscribe(name).get(timeout=30).json()["state"] == "reserved"
    action.compensate(ctx(), params, result)
    with MqttClient(broker()) as client:
        inbox = client.subscribe(name)
        client.publish(name, b"marker")  # a retained message would arrive before the marker
        assert inbox.get(timeout=30).payload == b"marker"


def test_wildcards_are_refused_in_a_topic_to_publish_to() -> None:
    with pytest.raises(ValueError, match="cannot hold the wildcards"):
        MqttPublish.params.model_validate({"topic": "plant/+/state", "payload": "x"})


def test_a_broker_that_is_down_is_transient() -> None:
    action = MqttPublish(Settings(connectors={"mqtt_url": f"mqtt://127.0.0.1:{free_port()}"}))
    params = MqttPublish.params.model_validate({"topic": "plant/state", "payload": "x"})
    with pytest.raises(TransientError, match="cannot connect"):
        action.execute(ctx(), params)
