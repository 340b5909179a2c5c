"""What the identity bench counts as an identifiable pair, and how it sums up its grid."""

from __future__ import annotations

from typing import Any

from crmos.bench.identity_quality import Cell, identifiable_groups, summarise


def _identify(touchpoint: str, user: str, **traits: Any) -> dict[str, Any]:
    return {
        "type": "identify",
        "userId": user,
        "traits": {"firstName": "Anna", "lastName": "Weber", **traits},
        "context": {"touchpoint": touchpoint},
    }


def _truth(*ids: tuple[str, str]) -> list[dict[str, Any]]:
    return [
        {"person_id": "p1", "company_id": None, "identifier_type": kind, "identifier_value": v}
        for kind, v in ids
    ]


def test_records_sharing_an_attribute_beyond_the_name_are_identifiable_and_a_name_is_not() -> None:
    events = [
        _identify("pos", "M1", birthday="1990-03-05"),
        _identify("app", "u1", birthday="1990-05-03"),  # day and month swapped: one birthday
        _identify("call_centre", "+4915112345678"),  # the name alone
    ]
    truth = _truth(("pos_member_id", "M1"), ("app_user_id", "u1"), ("phone", "+4915112345678"))
    groups = identifiable_groups(events, truth)
    assert groups[("pos_member_id", "M1")] == groups[("user_id", "u1")]
    assert groups[("phone", "+4915112345678")] != groups[("user_id", "u1")]


def test_an_address_or_an_account_joins_records_and_a_chain_of_them_joins_all() -> None:
    events = [
        _identify("pos", "M1", address={"postalCode": "10115"}),
        _identify("app", "u1", address={"postalCode": "10115"}, birthday="1990-03-05"),
        _identify("email", "anna@example.com", birthday="1990-03-05"),
    ]
    truth = _truth(("pos_member_id", "M1"), ("app_user_id", "u1"), ("email", "anna@example.com"))
    groups = identifiable_groups(events, truth)
    assert groups[("pos_member_id", "M1")] == groups[("email", "anna@example.com")]


def test_the_grid_reports_min_mean_and_the_worst_world_to_rerun() -> None:
    size = (("people", 30),)

    def figures(recall: float) -> dict[str, Any]:
        keys = ("precision", "recall_all", "recall_bound", "stitch_recall")
        return dict.fromkeys(keys, 1.0) | {
            "recall_identifiable": recall,
            "unidentifiable_pairs": 2,
            "true_pairs": 10,
        }

    out = summarise([(Cell(7, 0, size), figures(0.99)), (Cell(11, 6, size), figures(0.97))])
    assert out["recall_identifiable_min"] == 0.97 and out["recall_identifiable_mean"] == 0.98
    assert (out["worst_seed"], out["worst_clock"]) == (11, "2026-01-12T06:00:00+00:00")
    assert out["unidentifiable_pairs"] == 4 and out["unidentifiable_share"] == 0.2
