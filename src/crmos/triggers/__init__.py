"""Triggers: the condition language (CEL), window patterns, per-profile state and timers.

Pure: no I/O. The playbooks room feeds it events and stores its state and timers.
"""

from crmos.triggers.conditions import (
    VARIABLES,
    Condition,
    ConditionError,
    Evaluable,
    LambdaCondition,
)
from crmos.triggers.datamap import DATA_MAP
from crmos.triggers.engine import Evaluator, EventView, Firing, State, Trigger
from crmos.triggers.patterns import (
    EVENT_TYPES,
    ParsedPattern,
    Pattern,
    longest_window,
    parse_duration,
    parse_pattern,
)

__all__ = [
    "DATA_MAP",
    "EVENT_TYPES",
    "VARIABLES",
    "Condition",
    "ConditionError",
    "Evaluable",
    "Evaluator",
    "EventView",
    "Firing",
    "LambdaCondition",
    "ParsedPattern",
    "Pattern",
    "State",
    "Trigger",
    "longest_window",
    "parse_duration",
    "parse_pattern",
]
