"""Reference ERP, MES, SCM and service-desk simulators: small HTTP services with idempotent writes,
failure injection and side-effect counters (``crmos sim erp|mes|scm|servicedesk``)."""

from crmos.connectors.sim.app import Faults
from crmos.connectors.sim.audit import SideEffectAudit, audit_side_effects, audit_simulators
from crmos.connectors.sim.server import (
    CRASH_EXIT,
    DOMAINS,
    Simulator,
    start_simulator,
    start_simulators,
)

__all__ = [
    "CRASH_EXIT",
    "DOMAINS",
    "Faults",
    "SideEffectAudit",
    "Simulator",
    "audit_side_effects",
    "audit_simulators",
    "start_simulator",
    "start_simulators",
]
