"""The error tree: every error crmos defines is in it with its own code, and an unknown name
is told the same way everywhere (one suggestion helper)."""

from __future__ import annotations

import ast
import builtins
import importlib
from pathlib import Path

import pytest

import crmos
from crmos.core.errors import CrmosError, NotFound, UnknownName, did_you_mean, suggest

SRC = Path(crmos.__file__).parent
BUILTIN_ERRORS = {
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
}
# Exceptions that are not crmos errors, and why.
OUTSIDE_THE_TREE = {
    # The console's route wrapper turns these into HTML pages before any error handler runs.
    ("crmos.web.console", "SignInRequired"),
    ("crmos.web.console", "CsrfRefused"),
    ("crmos.web.console", "ActionRefused"),
    # A signal inside one EventWriter call: it never leaves the method that raises it.
    ("crmos.ingest.writer", "_Duplicates"),
    # A signal inside one tier move: hot changed under it, so it rolls back and tries again.
    ("crmos.store.tiers", "_Changed"),
    # A simulated ERP/MES/SCM's own refusal, carrying that system's codes, not crmos's.
    ("crmos.connectors.sim.app", "Refusal"),
    # Signals between the sandbox pool and the sandboxed action, which turns them into the
    # step's SandboxViolation; and what a component sees inside its child process.
    ("crmos.playbooks.sandbox_policy", "ChildDied"),
    ("crmos.playbooks.sandbox_zygote", "ZygoteFailed"),
    ("crmos.playbooks.sandbox_child", "SandboxRefusal"),
    ("crmos.playbooks.sandbox_child", "FieldRefused"),
}


def _base_name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _exception_classes() -> list[tuple[str, str]]:
    """(module, class) of every class in src/crmos whose bases lead to an exception."""
    defined: dict[str, list[tuple[str, list[str]]]] = {}
    for path in SRC.rglob("*.py"):
        module = ".".join(("crmos", *path.relative_to(SRC).with_suffix("").parts))
        module = module.removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = [_base_name(b) for b in node.bases]
                defined.setdefault(node.name, []).append((module, bases))

    def is_error(name: str, seen: frozenset[str]) -> bool:
        if name in BUILTIN_ERRORS:
            return True
        return name not in seen and any(
            is_error(base, seen | {name}) for _, bases in defined.get(name, []) for base in bases
        )

    return sorted(
        (module, name)
        for name, places in defined.items()
        for module, bases in places
        if any(is_error(base, frozenset({name})) for base in bases)
    )


def test_every_error_crmos_defines_is_in_the_tree_with_a_code_of_its_own() -> None:
    found = _exception_classes()
    assert ("crmos.graph.inference", "RuleDataError") in found  # the scan sees room errors
    codes: dict[str, str] = {}
    for module, name in found:
        cls = getattr(importlib.import_module(module), name)
        if (module, name) in OUTSIDE_THE_TREE:
            continue
        assert issubclass(cls, CrmosError), f"{module}.{name} is not in the error tree"
        assert "code" in vars(cls), f"{module}.{name} has no code of its own"
        assert cls.code not in codes, f"{name} reuses {codes.get(cls.code)}'s code {cls.code}"
        codes[cls.code] = name
    assert {"unknown_name", "invalid_condition", "llm_error", "invalid_value"} <= set(codes)


def test_errors_that_were_builtins_are_still_caught_as_those_builtins() -> None:
    from crmos.agent.llm import LLMError
    from crmos.compliance.validators import InvalidValue
    from crmos.graph.inference import RuleDataError
    from crmos.playbooks import UnknownComponent
    from crmos.sagas import UnknownAction
    from crmos.triggers import Condition, ConditionError

    with pytest.raises(ValueError, match="unknown variable") as caught:
        Condition.compile("trait.score > 1")
    assert isinstance(caught.value, ConditionError)
    assert caught.value.code == "invalid_condition"
    assert issubclass(RuleDataError, ValueError)
    assert issubclass(UnknownAction, LookupError) and issubclass(UnknownComponent, LookupError)
    invalid = InvalidValue("invalid_checksum", "the check digits do not match")
    assert (invalid.reason, invalid.message) == (
        "invalid_checksum",
        "the check digits do not match",
    )
    assert str(LLMError("LLM endpoint failed")) == "LLM endpoint failed"


def test_an_unknown_name_is_a_not_found_that_names_the_closest_known_one() -> None:
    error = UnknownName("component", "erp.credt_check", ["erp.credit_check", "mail.send"])
    assert isinstance(error, NotFound) and isinstance(error, LookupError)
    assert error.code == "unknown_name"
    assert (error.kind, error.name, error.suggestions) == (
        "component",
        "erp.credt_check",
        ["erp.credit_check"],
    )
    assert error.message == "unknown component 'erp.credt_check'; did you mean 'erp.credit_check'?"


def test_an_unknown_name_with_nothing_close_lists_the_known_names() -> None:
    assert UnknownName("action", "zzz", ["b", "a"]).message == "unknown action 'zzz'; known: a, b"
    assert UnknownName("action", "zzz", []).message == "unknown action 'zzz'; known: none"
    undeclared = UnknownName("endpoint", "credt", ["credit", "release"], "spec 'erp'")
    assert (
        undeclared.message
        == "endpoint 'credt' is not declared in spec 'erp'; did you mean 'credit'?"
    )
    assert UnknownName("param", "q", ["amount"], "endpoint 'x'").message.endswith(
        "declared: amount"
    )


def test_the_room_errors_for_unknown_names_keep_their_messages() -> None:
    from crmos.playbooks import UnknownComponent
    from crmos.sagas import UnknownAction

    action = UnknownAction("erp.relase", ["erp.release", "erp.credit_check"])
    assert (action.code, action.name) == ("unknown_action", "erp.relase")
    assert action.message == "unknown action 'erp.relase'; did you mean 'erp.release'?"
    component = UnknownComponent("nothing.like.it", ["mail.send"])
    assert component.code == "unknown_component"
    assert component.message == "unknown component 'nothing.like.it'; known: mail.send"


def test_suggest_orders_close_names_best_first_and_drops_far_ones() -> None:
    known = ["email", "emails", "phone", "e_mail"]
    assert suggest("emial", known) == ["email", "emails", "e_mail"]
    assert suggest("emial", known, n=1) == ["email"]
    assert suggest("zzz", known) == []
    assert did_you_mean("phnoe", known) == "did you mean 'phone'?"
    assert did_you_mean("zzz", known, "use one of email, phone") == "use one of email, phone"
    assert did_you_mean("zzz", known) == ""


def test_the_api_answers_an_unknown_name_as_404_with_its_code() -> None:
    from crmos.api.problems import status_of

    assert status_of(UnknownName("connector", "erq", ["erp"], "any connector spec")) == 404
