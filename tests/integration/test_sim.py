"""The reference ERP, MES and SCM simulators, over real HTTP on loopback."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from crmos.connectors import Faults, Simulator, audit_simulators, start_simulator
from crmos.connectors.sim import CRASH_EXIT

CRMOS = str(Path(sys.executable).with_name("crmos"))


@pytest.fixture
def erp() -> Iterator[httpx.Client]:
    url, stop = start_simulator("erp")
    with httpx.Client(base_url=url) as client:
        yield client
    stop()


def post(client: httpx.Client, path: str, key: str | None, **body: object) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(path, json=body, headers=headers)


def test_same_key_gets_the_same_answer_and_the_side_effect_happens_once(
    erp: httpx.Client,
) -> None:
    first = post(erp, "/credit/checks", "k1", customer_id="acme", amount=1000, reference="r1")
    again = post(erp, "/credit/checks", "k1", customer_id="acme", amount=1000, reference="r1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    stats = erp.get("/_sim/stats").json()
    assert (stats["side_effects"], stats["replays"], stats["duplicate_side_effects"]) == (1, 1, 0)
    assert erp.get("/customers/acme/credit").json()["held"] == 1000


def test_a_retry_under_a_new_key_is_counted_as_a_duplicate_side_effect(erp: httpx.Client) -> None:
    for key in ("k1", "k2", "k3"):
        post(erp, "/credit/checks", key, customer_id="acme", amount=10, reference="r1")
    post(erp, "/credit/checks", "k4", customer_id="acme", amount=10, reference="r2")
    stats = erp.get("/_sim/stats").json()
    assert stats["duplicate_side_effects"] == 2
    assert stats["references"]["r1"] == {"applied": 3, "compensated": 0, "open": 3}


def test_a_key_reused_for_a_different_request_is_refused(erp: httpx.Client) -> None:
    post(erp, "/credit/checks", "k1", customer_id="acme", amount=10)
    reused = post(erp, "/credit/checks", "k1", customer_id="acme", amount=11)
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"


def test_writes_without_an_idempotency_key_are_refused(erp: httpx.Client) -> None:
    response = post(erp, "/credit/checks", None, customer_id="acme", amount=10)
    assert response.status_code == 428
    assert "Idempotency-Key" in response.json()["detail"]
    assert erp.get("/_sim/stats").json()["side_effects"] == 0


def test_credit_is_held_up_to_the_customer_limit_and_released_once(erp: httpx.Client) -> None:
    held = post(erp, "/credit/checks", "a", customer_id="globex", amount=40_000).json()
    refused = post(erp, "/credit/checks", "b", customer_id="globex", amount=20_000)
    assert refused.status_code == 422
    assert refused.json()["code"] == "credit_limit_exceeded"
    assert refused.json()["available"] == 10_000
    release = post(erp, f"/credit/holds/{held['hold_id']}/release", "a:c")
    twice = post(erp, f"/credit/holds/{held['hold_id']}/release", "other")
    assert release.json()["released_now"] is True
    assert twice.json()["released_now"] is False
    assert erp.get("/customers/globex/credit").json()["available"] == 50_000
    stats = erp.get("/_sim/stats").json()
    assert (stats["compensations"], stats["open_side_effects"]) == (1, 0)


def test_a_customer_on_credit_stop_is_refused_and_a_new_limit_applies(erp: httpx.Client) -> None:
    assert post(erp, "/credit/checks", "a", customer_id="initech", amount=1).status_code == 422
    erp.put(
        "/customers/initech/credit-limit", json={"limit": 500}, headers={"Idempotency-Key": "l"}
    )
    assert post(erp, "/credit/checks", "b", customer_id="initech", amount=1).status_code == 201


def test_bad_params_are_refused_with_the_field_named(erp: httpx.Client) -> None:
    response = post(erp, "/credit/checks", "k", customer_id="acme", amount="lots")
    assert response.status_code == 422
    assert response.json()["detail"] == "'amount' must be a number"
    assert erp.get("/_sim/stats").json()["side_effects"] == 0


def test_injected_errors_split_into_transient_and_permanent_without_side_effects() -> None:
    url, stop = start_simulator("scm", error_rate=0.5, permanent_share=0.5, seed=7)
    try:
        with httpx.Client(base_url=url) as scm:
            codes = [
                post(scm, "/materials/locks", f"k{i}", material="pcb-a7", quantity=1).status_code
                for i in range(200)
            ]
            stats = scm.get("/_sim/stats").json()
    finally:
        stop()
    assert 60 < codes.count(201) < 140
    assert stats["injected_transient"] == codes.count(503) > 20
    assert stats["injected_permanent"] == codes.count(422) > 20
    assert stats["side_effects"] == codes.count(201)


def test_compensations_get_no_permanent_faults_unless_asked() -> None:
    url, stop = start_simulator("scm")
    try:
        with httpx.Client(base_url=url) as scm:
            lock = post(scm, "/materials/locks", "k", material="steel-coil", quantity=5).json()
            scm.put("/_sim/faults", json={"error_rate": 1.0, "permanent_share": 1.0})
            unlock = f"/materials/locks/{lock['lock_id']}/unlock"
            assert post(scm, unlock, "u").status_code == 503
            scm.put("/_sim/faults", json={"permanent_on_compensation": True})
            assert post(scm, unlock, "u").status_code == 422
    finally:
        stop()


def test_fail_next_queues_exact_faults_for_one_operation(erp: httpx.Client) -> None:
    rule = {"operation": "credit_check", "status": 503, "times": 2}
    erp.put("/_sim/faults", json={"fail_next": [rule]})
    statuses = [post(erp, "/credit/checks", "k", customer_id="acme", amount=1).status_code]
    statuses.append(erp.get("/customers/acme/credit").status_code)
    statuses += [post(erp, "/credit/checks", "k", customer_id="acme", amount=1).status_code]
    statuses += [post(erp, "/credit/checks", "k", customer_id="acme", amount=1).status_code]
    assert statuses == [503, 200, 503, 201]


def test_unknown_fault_settings_are_refused_by_name(erp: httpx.Client) -> None:
    response = erp.put("/_sim/faults", json={"error_rat": 0.1})
    assert response.status_code == 422
    assert "error_rat" in response.json()["detail"]


def test_reset_returns_to_the_seeded_state(erp: httpx.Client) -> None:
    post(erp, "/credit/checks", "k", customer_id="acme", amount=1)
    assert erp.post("/_sim/reset").json() == {"reset": True}
    assert erp.get("/_sim/stats").json()["side_effects"] == 0
    assert erp.get("/customers/acme/credit").json()["held"] == 0


def test_a_token_is_required_when_the_simulator_has_one() -> None:
    url, stop = start_simulator("mes", token="s3cret")
    try:
        assert httpx.get(f"{url}/capacity/lines/line-1").status_code == 401
        auth = {"Authorization": "Bearer s3cret"}
        assert httpx.get(f"{url}/capacity/lines/line-1", headers=auth).status_code == 200
        assert httpx.get(f"{url}/healthz").status_code == 200
    finally:
        stop()


def test_mes_reserves_capacity_until_the_line_is_full_and_releases_it() -> None:
    url, stop = start_simulator("mes")
    try:
        with httpx.Client(base_url=url) as mes:
            first = post(mes, "/capacity/reservations", "a", line="line-2", quantity=4000)
            full = post(mes, "/capacity/reservations", "b", line="line-2", quantity=2000)
            assert (first.status_code, full.status_code) == (201, 409)
            assert full.json()["code"] == "insufficient_capacity"
            rid = first.json()["reservation_id"]
            post(mes, f"/capacity/reservations/{rid}/release", "a:c")
            assert mes.get("/capacity/lines/line-2").json()["available"] == 5000
            unknown = post(mes, "/capacity/reservations", "c", line="line-9", quantity=1)
            assert "line-1, line-2" in unknown.json()["detail"]
    finally:
        stop()


def test_mes_matches_a_devices_alarms_with_a_known_firmware_batch_defect() -> None:
    url, stop = start_simulator("mes")
    try:
        with httpx.Client(base_url=url) as mes:
            log = mes.get("/devices/dev-1001/alarms", params={"limit": 2}).json()
            found = mes.get("/defects", params={"device_id": "dev-1001"}).json()
            healthy = mes.get("/defects", params={"device_id": "dev-1002"}).json()
    finally:
        stop()
    assert [a["code"] for a in log["alarms"]] == ["W07", "E42"]
    assert log["firmware_batch"] == "FW-2025.11-B"
    assert found["known_defect"]["defect_id"] == "D-0042"
    assert found["known_defect"]["matched_alarms"] == 2
    assert healthy["known_defect"] is None


def test_state_survives_a_restart_with_a_state_file(tmp_path: Path) -> None:
    state = tmp_path / "erp.db"
    sim = Simulator("erp", state=state).start()
    with httpx.Client(base_url=sim.url) as erp:
        first = post(erp, "/contracts", "k", customer_id="acme", title="FA", amount=5).json()
    sim.stop()
    sim = Simulator("erp", state=state).start()
    try:
        with httpx.Client(base_url=sim.url) as erp:
            again = post(erp, "/contracts", "k", customer_id="acme", title="FA", amount=5)
            assert again.json() == first
            assert erp.get(f"/contracts/{first['contract_id']}").json()["status"] == "draft"
    finally:
        sim.stop()


def test_an_in_process_crash_stops_answering_after_the_nth_request() -> None:
    sim = Simulator("scm", faults=Faults(crash_after=2)).start()
    try:
        with httpx.Client(base_url=sim.url) as scm:
            assert post(scm, "/materials/locks", "a", material="pcb-a7", quantity=1).is_success
            with pytest.raises(httpx.TransportError):
                post(scm, "/materials/locks", "b", material="pcb-a7", quantity=1)
        stats = sim.stats()
        assert (stats["side_effects"], stats["crashes"]) == (2, 1)
    finally:
        sim.stop()


def test_the_cli_simulator_exits_after_committing_the_nth_request(tmp_path: Path) -> None:
    state = tmp_path / "scm.db"
    args = [CRMOS, "sim", "scm", "--port", "0", "--state", str(state)]
    with subprocess.Popen([*args, "--crash-after", "2"], stdout=subprocess.PIPE, text=True) as sim:
        try:
            assert sim.stdout is not None
            url = sim.stdout.readline().split(" on ")[1].strip()
            with httpx.Client(base_url=url) as scm:
                post(scm, "/materials/locks", "a", material="titanium-bar", quantity=10)
                with pytest.raises(httpx.TransportError):
                    post(scm, "/materials/locks", "b", material="titanium-bar", quantity=10)
            assert sim.wait(timeout=10) == CRASH_EXIT
        finally:
            sim.kill()
    restarted = Simulator("scm", state=state).start()  # the lost answer is replayed
    try:
        with httpx.Client(base_url=restarted.url) as scm:
            replay = post(scm, "/materials/locks", "b", material="titanium-bar", quantity=10)
            assert replay.headers["Idempotent-Replayed"] == "true"
            assert scm.get("/materials/titanium-bar").json()["locked"] == 20
    finally:
        restarted.stop()


def test_the_audit_counts_duplicates_and_leftovers_of_rolled_back_runs_across_simulators() -> None:
    started = [start_simulator("erp"), start_simulator("scm")]
    (erp_url, _), (scm_url, _) = started
    try:
        with httpx.Client() as client:
            for key in ("a", "a-retry-under-a-new-key"):
                post(
                    client,
                    f"{erp_url}/credit/checks",
                    key,
                    customer_id="acme",
                    amount=5,
                    reference="run-ok",
                )
            held = post(
                client,
                f"{erp_url}/credit/checks",
                "b",
                customer_id="acme",
                amount=5,
                reference="run-undone",
            ).json()
            post(
                client,
                f"{scm_url}/materials/locks",
                "c",
                material="pcb-a7",
                quantity=1,
                reference="run-undone",
            )
            post(client, f"{erp_url}/credit/holds/{held['hold_id']}/release", "b:c")
        audit = audit_simulators([erp_url, scm_url], rolled_back=["run-undone"])
    finally:
        for _, stop in started:
            stop()
    assert (audit.side_effects, audit.compensations) == (4, 1)
    assert (audit.duplicate_side_effects, audit.uncompensated_side_effects) == (1, 1)
    assert audit.open_by_reference == {"run-ok": 2, "run-undone": 1}
