"""The pure parts of identity: normalisation, policy, claims and trait precedence."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from crmos.core.errors import ValidationError
from crmos.core.event import Event
from crmos.core.settings import IdentitySettings
from crmos.identity import build_policy, normalise
from crmos.identity.claims import Normaliser, claim_of
from crmos.identity.identifiers import _plain_e164, _plain_email, auto_type, parse_identifier
from crmos.identity.traits import apply_statement, combine, replay

POLICY = build_policy(IdentitySettings())


def event(
    kind: str = "identify", user: str | None = None, anon: str | None = "a-1", **body: Any
) -> Event:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    return Event("ws", "m-1", kind, user, anon, None, now, now, body.pop("source", "app"), body, 7)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "raw", "canonical"),
    [
        ("email", " Alice.Smith@Example.COM ", "alice.smith@example.com"),
        ("email", "王伟@例子.中国", "王伟@例子.中国"),
        ("phone", "+86 138-0013-8000", "+8613800138000"),
        ("phone", "+1 (202) 555-0143", "+12025550143"),
        ("user_id", 12345, "12345"),
        ("wechat_openid", "oWx_12-ab", "oWx_12-ab"),
    ],
)
def test_identifiers_normalise_to_one_canonical_spelling(
    kind: str, raw: Any, canonical: str
) -> None:
    assert normalise(kind, raw) == canonical


@pytest.mark.parametrize(
    ("kind", "raw", "region", "reason"),
    [
        ("email", "alice@", "", "is not an e-mail address"),
        ("email", "alice@localhost", "", "is not an e-mail address"),
        ("phone", "0151 23456789", "", "no default region"),
        ("phone", "+49 12", "", "not a valid phone number"),
        ("phone", "12", "DE", "not a valid phone number (default region DE)"),
        ("user_id", "   ", "", "is empty"),
        ("user_id", {"id": 1}, "", "must be a string, not dict"),
        ("user_id", True, "", "must be a string, not bool"),
        ("device_id", "x" * 256, "", "longer than 255"),
        ("wechat_openid", "o w", "", "is not a WeChat id"),
    ],
)
def test_bad_identifiers_are_rejected_with_the_reason(
    kind: str, raw: Any, region: str, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        normalise(kind, raw, region)


def test_national_numbers_use_the_default_region() -> None:
    assert normalise("phone", "0151 23456789", "DE") == "+4915123456789"
    assert normalise("phone", "+86 13800138000", "DE") == "+8613800138000"


def test_auto_typed_user_ids_recognise_emails_and_international_numbers_only() -> None:
    assert auto_type("Bo@Example.com") == "email"
    assert auto_type("+8613800138000") == "phone"
    assert auto_type("13800138000") == "user_id"
    assert auto_type("not@an@email") == "user_id"
    assert auto_type("+12") == "user_id"


def test_parse_identifier_names_the_problem() -> None:
    assert str(parse_identifier("email:A@B.com")) == "email:a@b.com"
    with pytest.raises(ValidationError, match="TYPE:VALUE"):
        parse_identifier("a@b.com")
    with pytest.raises(ValidationError, match="unknown type 'fax'"):
        parse_identifier("fax:1")


def test_a_policy_refuses_unknown_types_regions_and_keys_and_lists_every_problem() -> None:
    with pytest.raises(ValidationError) as caught:
        build_policy(
            IdentitySettings(),
            {"limits": {"fax": 1, "email": 0}, "default_region": "ZZ", "user_id_types": {"x": "y"}},
        )
    paths = {p.path for p in caught.value.problems}
    assert paths == {
        "identity.limits",
        "identity.limits.email",
        "identity.default_region",
        "identity.user_id_types.x",
    }
    with pytest.raises(ValidationError, match="not a workspace setting"):
        build_policy(IdentitySettings(), {"cache_identifiers": 5})


def test_a_claim_reads_every_identifier_strongest_first_and_keeps_rejections() -> None:
    body = {
        "traits": {"email": "A@x.com", "phone": "bad", "company": {"id": "c-9"}},
        "context": {"device": {"id": "dev-1"}, "traits": {"wechat_unionid": "u_1234567"}},
    }
    claim = claim_of(event(user="+8613800138000", source="call_centre", **body), Normaliser(POLICY))
    assert claim.keys == [
        ("email", "a@x.com"),
        ("phone", "+8613800138000"),
        ("wechat_unionid", "u_1234567"),
        ("device_id", "dev-1"),
        ("anonymous_id", "a-1"),
    ]
    (rejected,) = claim.rejections
    assert (rejected.type, rejected.path, rejected.raw) == ("phone", "traits.phone", "bad")
    assert claim.account == "c-9" and claim.source == "call_centre" and claim.seq == 7


def test_a_cached_number_does_not_make_true_or_a_float_an_identifier() -> None:
    norm = Normaliser(POLICY)
    assert claim_of(event(traits={"pos_member_id": 1}), norm).keys[0] == ("pos_member_id", "1")
    for raw in (True, 1.0):
        claim = claim_of(event(traits={"pos_member_id": raw}), norm)
        assert ("pos_member_id", "1") not in claim.keys
        assert [r.reason for r in claim.rejections] == [
            f"must be a string, not {type(raw).__name__}"
        ]


def test_user_ids_are_typed_per_source_and_alias_links_the_previous_id() -> None:
    norm = Normaliser(POLICY)
    assert claim_of(event(user="M1", source="pos"), norm).keys[0] == ("pos_member_id", "M1")
    alias = claim_of(event("alias", user="u-1", anon=None, previousId="cookie"), norm)
    assert alias.keys == [("user_id", "u-1"), ("anonymous_id", "cookie")]
    group = claim_of(event("group", user="u-1", groupId=42, traits={"name": "Acme"}), norm)
    assert group.traits == {"company": {"name": "Acme", "id": "42"}} and group.account == "42"
    track = claim_of(event("track", traits={"email": "x@y.com"}), norm)
    assert track.traits is None and track.keys == [("anonymous_id", "a-1")]


def test_traits_take_source_precedence_first_then_the_latest_write() -> None:
    policy = build_policy(IdentitySettings(), {"source_precedence": ["crm"]})
    view: dict[str, list[Any]] = {}
    assert apply_statement(policy, view, {"name": "A"}, "app", 10)
    assert not apply_statement(policy, view, {"name": "old"}, "app", 5)
    assert apply_statement(policy, view, {"name": "CRM"}, "crm", 1)
    assert not apply_statement(policy, view, {"name": "B"}, "app", 99)
    assert not apply_statement(policy, view, {"name": "CRM"}, "crm", 50)  # a restatement
    assert view == {"name": ["CRM", "crm", 1]}
    merged = combine(policy, {"a": [1, "app", 5]}, {"a": [2, "web", 6], "b": [3, "app", 1]})
    assert merged == {"a": [2, "web", 6], "b": [3, "app", 1]}
    statements = [({"a": 1}, "web", 5), ({"a": 2}, "web", 4), ({"b": 1}, "crm", 0)]
    assert replay(policy, statements) == {"a": [1, "web", 5], "b": [1, "crm", 0]}


_ATEXT = "abcXYZ019!#$%&'*+/=?^_`{|}~-."
_DOMAINS = st.sampled_from(
    ["example.com", "Example.COM", "b.c", "localhost", "x.test", "xn--fsq.com", "a-b.co.uk",
     "-x.com", "x..com", "[1.2.3.4]", "例子.中国", "x" * 64 + ".com", "mail.invalid", "123.45"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(local=st.text(alphabet=_ATEXT, min_size=0, max_size=70), domain=_DOMAINS)
def test_the_plain_email_fast_path_agrees_with_email_validator(local: str, domain: str) -> None:
    text = f"{local}@{domain}"
    fast = _plain_email(text)
    try:
        full: str | None = validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        full = None
    assert fast is None or fast == full


_E164_LIKE = st.builds(
    "{}{}".format,
    st.sampled_from(["+", "+", "+", "", "++", "+0"]),
    st.one_of(
        st.sampled_from(["49151", "8613", "1415", "39", "3906", "44", "81", "800", "882", "1"]),
        st.text(alphabet="0123456789", min_size=1, max_size=3),
    ).flatmap(lambda cc: st.text(alphabet="0123456789", min_size=0, max_size=14).map(cc.__add__)),
)


@settings(max_examples=600, deadline=None)
@given(text=_E164_LIKE)
def test_the_e164_fast_path_agrees_with_the_phonenumbers_parser(text: str) -> None:
    fast = _plain_e164(text)
    try:
        number = phonenumbers.parse(text, None)
        full = (
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            if phonenumbers.is_valid_number(number)
            else None
        )
    except phonenumbers.NumberParseException:
        full = None
    assert fast is None or fast == full


def test_the_e164_fast_path_takes_valid_numbers_and_leaves_the_rest_to_the_parser() -> None:
    assert _plain_e164("+8613800138000") == "+8613800138000"
    assert _plain_e164("+4915112345678") == "+4915112345678"
    assert _plain_e164("+390612345678") is None  # Rome: a national leading zero
    assert _plain_e164("+86 138 0013 8000") is None
    assert _plain_e164("+8612345") is None  # too short to be valid: the parser says why
