"""The pure parts of sagas: plans, references, retry policy, validation and the registry."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from pydantic import BaseModel

from crmos.core.errors import ConfigError, ValidationError
from crmos.core.settings import SagasSettings, Settings
from crmos.sagas import ActionRegistry, UnknownAction
from crmos.sagas.model import Plan, RetryPolicy, Scope, idempotency_key, new_trace, resolve
from crmos.sagas.ports import StepContext
from crmos.sagas.registry import materialise
from crmos.sagas.spec import compile_plan


class HoldParams(BaseModel):
    customer_id: str
    amount: float


class Hold:
    """Holds an amount."""

    name: ClassVar[str] = "erp.credit_check"
    params: ClassVar[type[BaseModel]] = HoldParams

    def execute(self, ctx: StepContext, params: BaseModel) -> dict[str, Any]:
        return {"hold_id": "h-1"}

    def compensate(self, ctx: StepContext, params: BaseModel, result: dict[str, Any]) -> None:
        return None


class Release(Hold):
    name: ClassVar[str] = "erp.release"


class Configured(Hold):
    name: ClassVar[str] = "erp.configured"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings


def registry() -> ActionRegistry:
    return ActionRegistry([Hold(), Release()])


def compile(raw: dict[str, Any]) -> Plan:
    return compile_plan(raw, registry(), SagasSettings())


def test_backoff_grows_exponentially_up_to_its_ceiling() -> None:
    policy = RetryPolicy(max_attempts=6, backoff_s=0.5, backoff_rate=2.0, max_backoff_s=3.0)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_the_idempotency_key_is_derived_from_the_run_and_the_step() -> None:
    assert idempotency_key("run_1", "credit") == "run_1:credit"
    assert idempotency_key("run_1", "credit", "compensate") == "run_1:credit:compensate"


def test_references_resolve_keeping_the_type_of_a_whole_value() -> None:
    scope = Scope("run_9", {"amount": 12.5, "customer": {"id": "C-1"}}, {"hold": {"id": "h-7"}})
    params = {
        "amount": "${input.amount}",
        "customer_id": "${input.customer.id}",
        "note": "hold ${steps.hold.id} of run ${run.id}",
        "items": [{"ref": "${steps.hold.id}"}],
    }
    assert resolve(params, scope) == {
        "amount": 12.5,
        "customer_id": "C-1",
        "note": "hold h-7 of run run_9",
        "items": [{"ref": "h-7"}],
    }
    with pytest.raises(KeyError):
        resolve("${steps.hold.missing}", scope)


def test_a_caller_traceparent_is_continued_and_a_bad_one_replaced() -> None:
    good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert new_trace(good) == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
    trace_id, span_id = new_trace("00-garbage")
    assert len(trace_id) == 32 and len(span_id) == 16


def test_a_valid_run_compiles_with_defaults_and_overrides() -> None:
    plan = compile(
        {
            "name": "agreement",
            "input": {"customer": "C-1", "amount": 100},
            "steps": [
                {
                    "id": "credit",
                    "action": "erp.credit_check",
                    "with": {"customer_id": "${input.customer}", "amount": "${input.amount}"},
                    "retry": {"max_attempts": 7},
                    "timeout_s": 3,
                },
                {
                    "id": "again",
                    "action": "erp.credit_check",
                    "with": {"customer_id": "C-1", "amount": 1},
                    "compensate": {
                        "action": "erp.release",
                        "with": {"customer_id": "C-1", "amount": "${steps.again.hold_id}"},
                    },
                    "unless": "${steps.credit.hold_id}",
                },
            ],
        }
    )
    credit, again = plan.steps
    assert (credit.retry.max_attempts, credit.retry.backoff_s, credit.timeout_s) == (7, 0.2, 3.0)
    assert again.compensate.action == "erp.release"
    assert again.unless == "steps.credit.hold_id"
    assert Plan.from_data(plan.to_data()) == plan


def test_validation_lists_every_problem_with_its_path_at_once() -> None:
    with pytest.raises(ValidationError) as caught:
        compile(
            {
                "steps": [
                    {"id": "a", "action": "erp.credit_chek", "with": {}},
                    {"id": "b", "action": "erp.credit_check", "with": {"amount": "lots"}},
                    {
                        "id": "b",
                        "action": "erp.credit_check",
                        "with": {"customer_id": "${input.nobody}", "amount": "${steps.later.x}"},
                    },
                    {"id": "later", "action": "erp.credit_check", "bogus": 1},
                    {
                        "id": "d",
                        "action": "erp.release",
                        "with": {"customer_id": "x", "amount": 1},
                        "compensate": {"action": "erp.nope"},
                        "when": "profile.vip",
                    },
                ]
            }
        )
    problems = {p.path: p.message for p in caught.value.problems}
    assert problems["steps[0].action"] == (
        "unknown action 'erp.credit_chek'; did you mean 'erp.credit_check'?"
    )
    assert "valid number" in problems["steps[1].with.amount"]
    assert problems["steps[1].with.customer_id"] == "Field required"
    assert problems["steps[2].id"] == "duplicate step id 'b'"
    assert "input has no 'nobody'" in problems["steps[2].with.customer_id"]
    assert (
        "names step 'later', which does not run before this one" in problems["steps[2].with.amount"]
    )
    assert problems["steps[3].bogus"] == "unknown field"
    assert problems["steps[4].compensate.action"].startswith("unknown action 'erp.nope'")
    assert "must start with input, steps, run" in problems["steps[4].when"]
    assert len(caught.value.problems) == 9


def test_a_run_without_steps_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        compile({"name": "empty", "steps": []})
    assert caught.value.problems[0].path == "steps"


def test_the_registry_suggests_the_closest_name_or_lists_the_known_ones() -> None:
    reg = registry()
    with pytest.raises(UnknownAction, match=r"did you mean 'erp\.release'"):
        reg.get("erp.relase")
    with pytest.raises(UnknownAction, match=r"known: erp\.credit_check, erp\.release"):
        reg.get("mail.send")


def test_the_registry_refuses_a_name_registered_twice() -> None:
    with pytest.raises(ConfigError, match="already registered by program"):
        registry().add(Hold())


def test_entry_points_may_name_classes_instances_or_providers() -> None:
    settings = Settings()
    made = materialise(Configured, settings, "test")
    assert isinstance(made[0], Configured) and made[0].settings is settings
    assert [a.name for a in materialise(lambda: [Hold(), Release()], settings, "t")] == [
        "erp.credit_check",
        "erp.release",
    ]
    instance = Hold()
    assert materialise(instance, settings, "t") == [instance]
    with pytest.raises(ConfigError, match="neither an action"):
        materialise(42, settings, "t")
