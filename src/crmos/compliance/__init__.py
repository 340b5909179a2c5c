"""Compliance: packs as data, consent, data-subject requests with provable erasure, validators,
complaint SLAs, jurisdictions and the heatmap. Imports rooms to its left only.
"""

from crmos.compliance.config import ComplianceConfig, Downstream, Team, parse_config
from crmos.compliance.consent import (
    Consent,
    ConsentGate,
    check_marketing,
    consent_history,
    profiles_with_consent,
    record_consent,
)
from crmos.compliance.erasure import DATA_MAP, FILES, FilesEraser, RegionsEraser
from crmos.compliance.jurisdiction import locale_of, phone_region, regions_of
from crmos.compliance.model import Finding, Outcome, ScanResult, Verdict
from crmos.compliance.pack import REQUEST_KINDS, PackSpec, parse_pack
from crmos.compliance.packbook import PackVersion
from crmos.compliance.ports import DueTime, Letter, LetterRenderer, calendar_time
from crmos.compliance.registry import PackRegistry, installed_sources
from crmos.compliance.requests import DsrRequest, LegalHold, list_requests
from crmos.compliance.scan import scan
from crmos.compliance.scripts import ScriptCheck, check_script
from crmos.compliance.service import Compliance, data_roots
from crmos.compliance.subjects import Subject
from crmos.compliance.validators import check, describe, known_validators, validator

__all__ = [
    "DATA_MAP",
    "FILES",
    "REQUEST_KINDS",
    "Compliance",
    "ComplianceConfig",
    "Consent",
    "ConsentGate",
    "Downstream",
    "DsrRequest",
    "DueTime",
    "FilesEraser",
    "Finding",
    "LegalHold",
    "Letter",
    "LetterRenderer",
    "Outcome",
    "PackRegistry",
    "PackSpec",
    "PackVersion",
    "RegionsEraser",
    "ScanResult",
    "ScriptCheck",
    "Subject",
    "Team",
    "Verdict",
    "calendar_time",
    "check",
    "check_marketing",
    "check_script",
    "consent_history",
    "data_roots",
    "describe",
    "installed_sources",
    "known_validators",
    "list_requests",
    "locale_of",
    "parse_config",
    "parse_pack",
    "phone_region",
    "profiles_with_consent",
    "record_consent",
    "regions_of",
    "scan",
    "validator",
]
