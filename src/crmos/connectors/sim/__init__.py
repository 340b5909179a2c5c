"""Reference ERP, MES and SCM simulators: small HTTP services with idempotent writes,
failure injection and side-effect counters (``crmos sim erp|mes|scm``)."""

from crmos.connectors.sim.app import Faults
from crmos.connectors.sim.server import CRASH_EXIT, DOMAINS, Simulator, start_simulator

__all__ = ["CRASH_EXIT", "DOMAINS", "Faults", "Simulator", "start_simulator"]
