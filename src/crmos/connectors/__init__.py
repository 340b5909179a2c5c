"""Connectors: HTTP/webhook, e-mail, chat, MQTT, OPC UA, and the ERP/MES/SCM simulators.

Filled in by the sagas issue.
"""

__all__: list[str] = []
