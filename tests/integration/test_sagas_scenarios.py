"""Scenarios 7 and 8 end to end: runs of the real connector actions against the simulators."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from crmos.bootstrap import Container
from crmos.connectors.sim import audit_simulators, start_simulators
from crmos.core.errors import ValidationError
from crmos.sagas.testing import EffectServer
from crmos.store import decisions_of
from tests.integration.saga_support import effect, run_to_end, start_fast_engine

pytestmark = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)

# The four steps of a framework agreement, and the simulator operation each one calls.
OPERATIONS = [
    ("erp", "draft_contract"),
    ("erp", "credit_check"),
    ("mes", "reserve_capacity"),
    ("scm", "lock_material"),
]


def framework_agreement(customer: str = "acme", amount: float = 120_000) -> dict[str, Any]:
    """Scenario 7: draft contract -> ERP credit check -> MES capacity -> SCM material lock."""
    return {
        "name": "framework_agreement",
        "input": {"customer_id": customer, "amount": amount},
        "steps": [
            {
                "id": "contract",
                "action": "contract.draft",
                "with": {
                    "customer_id": "${input.customer_id}",
                    "amount": "${input.amount}",
                    "title": "Annual framework agreement ${input.customer_id}",
                },
            },
            {
                "id": "credit",
                "action": "erp.credit_check",
                "with": {"customer_id": "${input.customer_id}", "amount": "${input.amount}"},
            },
            {
                "id": "capacity",
                "action": "mes.reserve_capacity",
                "with": {"line": "line-1", "quantity": 400},
            },
            {
                "id": "material",
                "action": "scm.lock_material",
                "with": {"material": "steel-coil", "quantity": 12.5},
            },
        ],
    }


@pytest.fixture
def sims() -> Iterator[dict[str, str]]:
    urls, stop = start_simulators(seed=1)
    yield urls
    stop()


@pytest.fixture
def engine(container: Container, sims: dict[str, str]) -> Container:
    container.settings.connectors = container.settings.connectors.model_copy(
        update={"base_urls": sims}
    )
    return start_fast_engine(container)


@pytest.fixture
def workspace(container: Container) -> str:
    ws, _, _ = container.workspaces.create("acme")
    return ws.id


def ledger(url: str, run_id: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{url}/_sim/ledger", params={"reference": run_id})
    return list(answer.raise_for_status().json()["side_effects"])


def test_scenario_7_a_framework_agreement_reserves_once_in_each_system(
    engine: Container, workspace: str, sims: dict[str, str]
) -> None:
    run = run_to_end(engine, workspace, framework_agreement())

    assert run.status == "completed"
    results = {s.step_id: s.result for s in engine.runs.get(workspace, run.id).steps}
    assert results["contract"]["status"] == "draft"
    assert results["capacity"]["reservation_id"]
    done = [
        (kind, e["operation"]) for kind in ("erp", "mes", "scm") for e in ledger(sims[kind], run.id)
    ]
    assert sorted(done) == sorted(OPERATIONS)
    audit = audit_simulators(sims.values(), rolled_back=[])
    assert (audit.side_effects, audit.duplicate_side_effects) == (4, 0)


@pytest.mark.parametrize("failing", range(4), ids=[op for _, op in OPERATIONS])
def test_scenario_7_a_refusal_at_any_step_compensates_exactly_the_finished_ones(
    engine: Container, workspace: str, sims: dict[str, str], failing: int
) -> None:
    kind, operation = OPERATIONS[failing]
    rule = {"fail_next": [{"operation": operation, "status": 422}]}
    httpx.put(f"{sims[kind]}/_sim/faults", json=rule).raise_for_status()

    run = run_to_end(engine, workspace, framework_agreement())

    assert run.status == "compensated"
    assert run.failed_step == ["contract", "credit", "capacity", "material"][failing]
    effects = [e for k in ("erp", "mes", "scm") for e in ledger(sims[k], run.id)]
    assert sorted(e["operation"] for e in effects) == sorted(op for _, op in OPERATIONS[:failing])
    assert all(e["compensated_at_ms"] for e in effects)
    audit = audit_simulators(sims.values(), rolled_back=[run.id])
    assert (audit.uncompensated_side_effects, audit.duplicate_side_effects) == (0, 0)


def test_scenario_7_a_customer_over_its_credit_limit_is_refused_and_the_draft_voided(
    engine: Container, workspace: str, sims: dict[str, str]
) -> None:
    run = run_to_end(engine, workspace, framework_agreement("globex", 80_000))

    assert run.status == "compensated"
    assert run.failed_step == "credit"
    assert [e["compensated_at_ms"] is not None for e in ledger(sims["erp"], run.id)] == [True]


def service_ticket(desk: str, device: str) -> dict[str, Any]:
    """Scenario 8: a repair ticket checks the MES before anyone drives out."""
    return {
        "name": "service_ticket",
        "profile_id": "prof_acme_ops",
        "input": {"device_id": device, "ticket": "T-7781"},
        "steps": [
            {
                "id": "alarms",
                "action": "mes.alarm_log",
                "with": {"device_id": "${input.device_id}"},
            },
            {
                "id": "defects",
                "action": "mes.defect_lookup",
                "with": {"device_id": "${input.device_id}"},
            },
            effect("attach_defect", desk, when="steps.defects.known_defect"),
            effect("dispatch_engineer", desk, unless="steps.defects.known_defect"),
        ],
    }


@pytest.mark.parametrize(("device", "attached"), [("dev-1001", True), ("dev-1002", False)])
def test_scenario_8_a_known_firmware_defect_is_attached_instead_of_dispatching(
    engine: Container, workspace: str, device: str, attached: bool
) -> None:
    with EffectServer() as desk:
        run = run_to_end(engine, workspace, service_ticket(desk.url, device))
        done = {e["name"] for e in desk.state().values()}

    assert run.status == "completed"
    assert done == ({"attach_defect"} if attached else {"dispatch_engineer"})
    steps = {s.step_id: s for s in engine.runs.get(workspace, run.id).steps}
    known = steps["defects"].result["known_defect"]
    assert (known or {}).get("defect_id") == ("D-0042" if attached else None)
    with engine.engine.connect() as conn:
        decisions = {d.rule: d for d in decisions_of(conn, workspace, "prof_acme_ops")}
    dispatch = decisions["service_ticket/dispatch_engineer"]
    assert dispatch.actions[0]["taken"] is not attached
    assert dispatch.inputs["steps.defects.known_defect"] == known
    assert ("skipped" if attached else "ran") in dispatch.reason


def test_a_run_naming_an_undeclared_connector_target_is_refused_before_it_starts(
    engine: Container, workspace: str
) -> None:
    spec = framework_agreement()
    spec["steps"].append(
        {
            "id": "notify",
            "action": "http.call",
            "with": {"connector": "scm", "endpoint": "lock_materials", "params": {}},
        }
    )
    spec["steps"][2]["with"]["quantity"] = "four hundred"
    with pytest.raises(ValidationError) as refused:
        engine.runs.start(workspace, spec)

    problems = {p.path: p.message for p in refused.value.problems}
    assert "did you mean 'lock_material'" in problems["steps[4].with"]
    assert "valid integer" in problems["steps[2].with.quantity"]
    assert engine.runs.find(workspace) == []
