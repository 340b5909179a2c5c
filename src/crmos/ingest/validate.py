"""Decoding and validating intake bodies; every problem is named with its index and field.

The fast path decodes each event straight into its typed struct. Only when that fails does the
slow path re-read the event field by field, so the answer lists every offending field, not just
the first one msgspec stops at.
"""

from __future__ import annotations

from typing import Any

import msgspec

from crmos.core.errors import PayloadTooLarge, Problem, ValidationError, did_you_mean
from crmos.ingest.messages import BY_TYPE, AnyMessage, Envelope, Message

_DECODERS: dict[str | None, msgspec.json.Decoder[Any]] = {
    None: msgspec.json.Decoder(AnyMessage),
    **{name: msgspec.json.Decoder(cls) for name, cls in BY_TYPE.items()},
}
_ENVELOPE = msgspec.json.Decoder(Envelope)


def decode_single(raw: bytes, kind: str, max_event_bytes: int) -> Message:
    """Decode the body of ``POST /v1/{kind}``: one message whose type the path implies."""
    if len(raw) > max_event_bytes:
        raise PayloadTooLarge(
            f"{kind} event rejected; nothing was stored",
            [Problem("$", _too_big(len(raw), max_event_bytes), reason="too_large")],
        )
    message, problems = _decode_event(raw, kind, prefix="", index=None)
    if problems or message is None:
        raise ValidationError(f"{kind} event rejected; nothing was stored", problems)
    return message


def decode_batch(
    raw: bytes, max_event_bytes: int, max_batch_bytes: int
) -> tuple[Envelope, list[Message]]:
    """Decode ``POST /v1/batch``: all events valid, or a :class:`ValidationError` naming each."""
    if len(raw) > max_batch_bytes:
        raise PayloadTooLarge(
            "batch rejected; nothing was stored",
            [
                Problem(
                    "$",
                    _too_big(len(raw), max_batch_bytes) + "; send smaller batches",
                    reason="too_large",
                )
            ],
        )
    try:
        envelope = _ENVELOPE.decode(raw)
    except msgspec.DecodeError as exc:
        raise ValidationError("batch rejected; nothing was stored", [_json_problem(exc)]) from exc
    messages: list[Message] = []
    problems: list[Problem] = []
    oversize = False
    for i, item in enumerate(envelope.batch):
        if len(item) > max_event_bytes:
            oversize = True
            problems.append(
                Problem(f"batch[{i}]", _too_big(len(item), max_event_bytes), i, "too_large")
            )
            continue
        message = _valid_or_none(item, None)
        if message is None:
            message, found = _decode_event(bytes(item), None, prefix=f"batch[{i}].", index=i)
            problems.extend(found)
        if message is not None:
            messages.append(message)
    if problems:
        error = PayloadTooLarge if oversize else ValidationError
        raise error(f"batch rejected ({len(problems)} problem(s)); nothing was stored", problems)
    return envelope, messages


def decode_event_line(
    raw: bytes, number: int, max_event_bytes: int
) -> tuple[Message | None, list[Problem]]:
    """Decode one line of a JSON-lines file; problems are named ``line[N].field``."""
    if len(raw) > max_event_bytes:
        return None, [
            Problem(f"line[{number}]", _too_big(len(raw), max_event_bytes), number, "too_large")
        ]
    message = _valid_or_none(raw, None)
    if message is not None:
        return message, []
    return _decode_event(raw, None, prefix=f"line[{number}].", index=number)


def _valid_or_none(raw: bytes | msgspec.Raw, kind: str | None) -> Message | None:
    """The message when ``raw`` is a valid event, else None: the hot path, which names no
    problems, so it formats no paths (``_decode_event`` decodes again to name them)."""
    try:
        message: Message = _DECODERS[kind].decode(raw)
    except msgspec.DecodeError:
        return None
    if message.user_id in (None, "") and message.anonymous_id in (None, ""):
        return None
    return message


def _decode_event(
    raw: bytes, kind: str | None, prefix: str, index: int | None
) -> tuple[Message | None, list[Problem]]:
    try:
        message: Message = _DECODERS[kind].decode(raw)
    except msgspec.DecodeError as exc:
        if not isinstance(exc, msgspec.ValidationError):
            return None, [_json_problem(exc, prefix, index)]
        return None, explain(raw, kind, prefix, index)
    problems = _identity_problems(message, prefix, index)
    return (None if problems else message), problems


def _identity_problems(message: Message, prefix: str, index: int | None) -> list[Problem]:
    if message.user_id in (None, "") and message.anonymous_id in (None, ""):
        needed = "userId" if isinstance(message, BY_TYPE["alias"]) else "userId or anonymousId"
        return [
            Problem(
                f"{prefix}userId", f"missing: every event needs {needed}", index, "missing_field"
            )
        ]
    return []


def explain(
    raw: bytes, kind: str | None, prefix: str = "", index: int | None = None
) -> list[Problem]:
    """Every problem of one invalid event, field by field (the slow path)."""
    data = msgspec.json.decode(raw)
    if not isinstance(data, dict):
        return [
            Problem(
                prefix.rstrip(".") or "$",
                f"expected an object, got {_kind(data)}",
                index,
                "invalid_json",
            )
        ]
    type_name = kind or data.get("type")
    cls = BY_TYPE.get(type_name) if isinstance(type_name, str) else None
    if cls is None:
        valid = ", ".join(BY_TYPE)
        return [
            Problem(
                f"{prefix}type",
                f"unknown type {type_name!r}; use one of: {valid}",
                index,
                "unknown_type",
            )
        ]
    fields = {f.encode_name: f for f in msgspec.structs.fields(cls)}
    problems = [
        Problem(f"{prefix}{name}", _unknown(name, fields), index, "unknown_field")
        for name in data
        if name not in fields and name != "type"
    ]
    for name, info in fields.items():
        if name not in data:
            if info.required:
                need = f"missing: required for a {type_name} event"
                problems.append(Problem(f"{prefix}{name}", need, index, "missing_field"))
            continue
        try:
            msgspec.convert(data[name], info.type, dec_hook=None, strict=False)
        except msgspec.ValidationError as exc:
            problems.append(Problem(f"{prefix}{name}", _clean(str(exc)), index, "invalid_field"))
    has_id = data.get("userId") or data.get("anonymousId")
    if not has_id and not any(p.path == f"{prefix}userId" for p in problems):
        need = "missing: every event needs userId or anonymousId"
        problems.append(Problem(f"{prefix}userId", need, index, "missing_field"))
    return problems or [Problem(prefix.rstrip(".") or "$", "invalid event", index)]


def _unknown(name: str, fields: dict[str, Any]) -> str:
    hint = did_you_mean(name, fields, "put custom data under properties or traits")
    return f"unknown field '{name}'; {hint}"


def _clean(message: str) -> str:
    return message.split(" - at ")[0].replace("`", "'")


def _json_problem(exc: msgspec.DecodeError, prefix: str = "", index: int | None = None) -> Problem:
    text = str(exc)
    if isinstance(exc, msgspec.ValidationError) and " - at `$" in text:
        message, _, where = text.partition(" - at `$")
        path = where.rstrip("`").lstrip(".")
        return Problem(f"{prefix}{path}" or "$", message.replace("`", "'"), index, "invalid_field")
    return Problem(
        prefix.rstrip(".") or "$", f"{_clean(text)}; send a JSON object", index, "invalid_json"
    )


def _too_big(size: int, limit: int) -> str:
    return f"{size} bytes is over the limit of {limit} bytes"


def _kind(value: object) -> str:
    return {list: "an array", str: "a string", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )
