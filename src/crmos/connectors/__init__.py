"""Connectors: HTTP/webhook specs, e-mail, chat, MQTT, OPC UA, and the ERP/MES/SCM simulators.

Names load on first use (asyncua and paho are slow to import), so ``crmos sim`` starts fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crmos.connectors.chat import ChatMessage, PostChat, dingtalk_sign, feishu_sign
    from crmos.connectors.erp import ContractDraft, CreditCheck
    from crmos.connectors.http import HttpCall
    from crmos.connectors.mail import SendEmail
    from crmos.connectors.mes import AlarmLog, DefectLookup, ReserveCapacity
    from crmos.connectors.mqtt import MqttClient, MqttMessage, MqttPublish
    from crmos.connectors.opcua import OpcUaSession, OpcUaWrite, UaReading
    from crmos.connectors.runner import HttpRunner
    from crmos.connectors.scm import LockMaterial
    from crmos.connectors.sim import (
        Faults,
        SideEffectAudit,
        Simulator,
        audit_simulators,
        start_simulator,
        start_simulators,
    )
    from crmos.connectors.spec import ConnectorSpec, find_spec, packaged_specs, parse_spec
    from crmos.connectors.uajson import UaNetworkMessage, parse_ua_data, ua_data_message

_WHERE = {
    "AlarmLog": "mes",
    "ChatMessage": "chat",
    "ConnectorSpec": "spec",
    "ContractDraft": "erp",
    "CreditCheck": "erp",
    "DefectLookup": "mes",
    "Faults": "sim",
    "HttpCall": "http",
    "HttpRunner": "runner",
    "LockMaterial": "scm",
    "MqttClient": "mqtt",
    "MqttMessage": "mqtt",
    "MqttPublish": "mqtt",
    "OpcUaSession": "opcua",
    "OpcUaWrite": "opcua",
    "PostChat": "chat",
    "ReserveCapacity": "mes",
    "SendEmail": "mail",
    "SideEffectAudit": "sim",
    "Simulator": "sim",
    "UaNetworkMessage": "uajson",
    "UaReading": "opcua",
    "audit_simulators": "sim",
    "dingtalk_sign": "chat",
    "feishu_sign": "chat",
    "find_spec": "spec",
    "packaged_specs": "spec",
    "parse_spec": "spec",
    "parse_ua_data": "uajson",
    "start_simulator": "sim",
    "start_simulators": "sim",
    "ua_data_message": "uajson",
}

__all__ = [
    "AlarmLog",
    "ChatMessage",
    "ConnectorSpec",
    "ContractDraft",
    "CreditCheck",
    "DefectLookup",
    "Faults",
    "HttpCall",
    "HttpRunner",
    "LockMaterial",
    "MqttClient",
    "MqttMessage",
    "MqttPublish",
    "OpcUaSession",
    "OpcUaWrite",
    "PostChat",
    "ReserveCapacity",
    "SendEmail",
    "SideEffectAudit",
    "Simulator",
    "UaNetworkMessage",
    "UaReading",
    "audit_simulators",
    "dingtalk_sign",
    "feishu_sign",
    "find_spec",
    "packaged_specs",
    "parse_spec",
    "parse_ua_data",
    "start_simulator",
    "start_simulators",
    "ua_data_message",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'crmos.connectors' has no attribute '{name}'")
    return getattr(import_module(f"crmos.connectors.{_WHERE[name]}"), name)
