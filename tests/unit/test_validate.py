"""Decoding Segment bodies: every problem named, with a fix."""

from __future__ import annotations

import orjson
import pytest

from crmos.core.errors import PayloadTooLarge, ValidationError
from crmos.ingest.messages import Alias, Track
from crmos.ingest.validate import decode_batch, decode_single, explain


def test_a_single_call_takes_its_type_from_the_path() -> None:
    message = decode_single(b'{"userId": "u", "event": "E"}', "track", 32_000)
    assert isinstance(message, Track)


def test_alias_needs_previous_id() -> None:
    with pytest.raises(ValidationError) as caught:
        decode_single(b'{"userId": "u"}', "alias", 32_000)
    assert [p.path for p in caught.value.problems] == ["previousId"]
    assert isinstance(decode_single(b'{"userId": "u", "previousId": 7}', "alias", 32_000), Alias)


def test_every_problem_of_an_event_is_listed_not_only_the_first() -> None:
    raw = orjson.dumps({"type": "track", "event": 1, "properties": [], "userID": "x"})
    paths = {p.path: p.reason for p in explain(raw, None)}
    assert paths == {
        "event": "invalid_field",
        "properties": "invalid_field",
        "userID": "unknown_field",
        "userId": "missing_field",
    }


def test_an_unknown_type_lists_the_valid_ones() -> None:
    [problem] = explain(b'{"type": "trak", "userId": "u"}', None)
    assert problem.path == "type"
    assert "track, identify, page, screen, group, alias" in problem.message


def test_batch_size_is_checked_before_decoding() -> None:
    with pytest.raises(PayloadTooLarge):
        decode_batch(b"x" * 101, max_event_bytes=50, max_batch_bytes=100)


def test_batch_level_fields_apply_and_unknown_batch_fields_are_refused() -> None:
    body = orjson.dumps(
        {"batch": [{"type": "page", "userId": "u"}], "sentAt": "2026-01-01T00:00:00Z"}
    )
    envelope, [_message] = decode_batch(body, 32_000, 500_000)
    assert envelope.sent_at is not None
    with pytest.raises(ValidationError) as caught:
        decode_batch(orjson.dumps({"batch": [], "extra": 1}), 32_000, 500_000)
    assert "extra" in caught.value.message


def test_null_anonymous_id_from_sdks_is_accepted() -> None:
    raw = b'{"type": "track", "userId": "u", "anonymousId": null, "event": "E"}'
    _, [message] = decode_batch(b'{"batch": [' + raw + b"]}", 32_000, 500_000)
    assert message.anonymous_id is None
