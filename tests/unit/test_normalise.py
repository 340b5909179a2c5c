"""Pure intake rules: clock skew, personal-field splitting, touchpoints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from crmos.ingest import Shared, corrected_time, prepare
from crmos.ingest.messages import Identify, Track
from crmos.ingest.normalise import join_pii, split_pii

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PII = frozenset({"email", "phone"})


def test_clock_skew_shifts_the_event_by_the_clients_clock_offset() -> None:
    original = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)  # client clock 2 h behind
    sent = original + timedelta(seconds=5)
    assert corrected_time(original, sent, NOW) == NOW - timedelta(seconds=5)


def test_without_sent_at_the_client_timestamp_is_kept_and_without_any_it_is_received_time() -> None:
    original = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert corrected_time(original, None, NOW) == original
    assert corrected_time(None, None, NOW) == NOW


@given(st.integers(min_value=-(10**6), max_value=10**6), st.integers(min_value=0, max_value=10**5))
def test_corrected_time_is_received_time_minus_the_client_side_delay(
    offset_s: int, delay_s: int
) -> None:
    sent = NOW + timedelta(seconds=offset_s)
    original = sent - timedelta(seconds=delay_s)
    assert NOW - corrected_time(original, sent, NOW) == timedelta(seconds=delay_s)


def test_traits_context_ip_and_named_properties_are_split_off_and_joined_back() -> None:
    body = {
        "traits": {"email": "a@b.c"},
        "context": {"ip": "203.0.113.9", "traits": {"name": "A"}, "locale": "de-DE"},
        "properties": {"phone": "+49301234", "sku": "X"},
    }
    original = {k: dict(v) for k, v in body.items()}
    original["context"] = dict(body["context"])
    pii = split_pii(body, PII)
    assert body == {"context": {"locale": "de-DE"}, "properties": {"sku": "X"}}
    assert pii is not None
    assert set(pii) == {"traits", "context.ip", "context.traits", "properties.phone"}
    assert join_pii(body, pii) == original


def test_an_event_without_personal_fields_needs_no_encryption() -> None:
    assert split_pii({"properties": {"sku": "X"}, "context": {}}, PII) is None


def test_prepare_takes_the_touchpoint_from_context_before_the_keys_source() -> None:
    shared = Shared(NOW, "default")
    tagged = prepare(Track(event="E", user_id="u", context={"touchpoint": "wechat"}), shared, PII)
    plain = prepare(Track(event="E", user_id="u"), shared, PII)
    assert (tagged.touchpoint, plain.touchpoint) == ("wechat", "default")


def test_prepare_stringifies_numeric_ids_and_generates_a_missing_message_id() -> None:
    event = prepare(Identify(user_id=42, traits={"email": "x@y.z"}), Shared(NOW, "app"), PII)
    assert event.user_id == "42"
    assert event.subject == "user:42"
    assert event.message_id.startswith("srv-")
    assert event.pii == {"traits": {"email": "x@y.z"}}
    assert "traits" not in event.body
