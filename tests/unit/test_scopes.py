"""Which scopes allow an exchange: the exact/legacy table, ASCII-only lower-casing, and
claims that must be Unicode text."""

from __future__ import annotations

from typing import Any

import pytest

from vault.errors import Unauthorized
from vault.grants import allows, ascii_lower
from vault.grants.claims import is_unicode_text, read_claims

LEGACY_FORMS = [
    "*",
    "github:*",
    "github:read",
    "github:credentials:read",
    "vault:github:*",
    "vault:github:read",
    "vault:credentials:exchange",
]


def test_exact_mode_accepts_only_the_exchange_scope():
    assert allows(("vault:github:exchange",), "github", "exact")
    assert allows(("VAULT:GitHub:Exchange",), "github", "exact")  # ASCII case is ignored
    assert allows(("slack:read", "vault:github:exchange"), "github", "exact")


def test_the_default_mode_is_exact():
    assert allows(("vault:github:exchange",), "github")
    assert not allows(("github:read",), "github")


@pytest.mark.parametrize("scope", LEGACY_FORMS)
def test_each_legacy_form_is_refused_in_exact_mode_and_accepted_in_legacy_mode(scope):
    assert not allows((scope,), "github", "exact")
    assert allows((scope,), "github", "legacy")
    assert allows((scope.upper(),), "github", "legacy")


@pytest.mark.parametrize("mode", ["exact", "legacy"])
@pytest.mark.parametrize(
    "scopes",
    [
        (),
        ("vault:slack:exchange",),
        ("vault:github:exchange:extra",),
        ("vault:github",),
        ("github:write",),
        ("vault:*",),
        ("vault:github:exchange ",),
        ("slack:read",),
        ("vault:slack:*",),
    ],
)
def test_scopes_for_something_else_are_refused_in_both_modes(scopes, mode):
    assert not allows(scopes, "github", mode)


# Each of these lower-cases (str.lower) or case-folds (str.casefold) into an accepted
# scope under Unicode rules, or merely looks like one; none is the scope.
LOOK_ALIKES = [
    ("kubernetes", "\u212aubernetes:read"),  # KELVIN SIGN: "\u212a".lower() == "k"
    ("kubernetes", "vault:\u212aubernetes:exchange"),
    ("kubernetes", "\u212aUBERNETES:*"),
    ("slack", "\u017flack:read"),  # LATIN SMALL LETTER LONG S: casefolds to "s"
    ("slack", "vault:\u017flack:exchange"),
    ("github", "vault:g\u0131thub:exchange"),  # dotless i
    ("github", "vault:g\u0130thub:exchange"),  # capital I with dot: lower() is "i\u0307"
    ("github", "vault:\uff47ithub:exchange"),  # FULLWIDTH g
    ("github", "vault:github:\u0435xchange"),  # CYRILLIC SMALL LETTER IE
    ("github", "vault:github:exchange\u200b"),  # ZERO WIDTH SPACE
]


@pytest.mark.parametrize("mode", ["exact", "legacy"])
@pytest.mark.parametrize(("service", "scope"), LOOK_ALIKES)
def test_non_ascii_look_alikes_are_refused(service, scope, mode):
    assert scope.lower() != scope or scope.casefold() != scope or not scope.isascii()
    assert not allows((scope,), service, mode)


def test_ascii_lower_leaves_every_non_ascii_character_alone():
    assert ascii_lower("AbC:\u212a\u0130\u00c9") == "abc:\u212a\u0130\u00c9"
    assert "\u212a".lower() == "k"  # what Unicode rules would have done


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": "https://issuer",
        "sub": "user-1",
        "dev": "dev-1",
        "scp": ["vault:github:exchange"],
        "jti": "tok_1",
        "grnt": "grnt_1",
        "agt": "did:grantex:agent",
        "exp": 2_000_000_000,
    }
    base.update(overrides)
    return base


def test_read_claims_lower_cases_scopes_ascii_only():
    grant = read_claims(claims(scp=["VAULT:GitHub:EXCHANGE", "\u212aubernetes:read"]))

    assert grant.scopes == ("vault:github:exchange", "\u212aubernetes:read")


@pytest.mark.parametrize(
    "overrides",
    [
        {"sub": "user-\ud800"},
        {"dev": "\udfff"},
        {"jti": "tok_\ud83d"},
        {"grnt": "grnt_\udc00"},
        {"agt": "did:\ud800"},
        {"parentGrnt": "grnt_\ud800"},
        {"scp": ["vault:github:exchange", "x\ud800"]},
        {"cnf": {"jkt": "\ud800"}},
        {"cnf": {"\ud800": "x"}},
        {"extra": {"deep": [["\ud800"]]}},
    ],
)
def test_a_lone_surrogate_anywhere_in_the_claims_is_refused(overrides):
    with pytest.raises(Unauthorized) as refused:
        read_claims(claims(**overrides))

    assert refused.value.reason == "bad_claims"


def test_unicode_text_is_accepted():
    grant = read_claims(claims(sub="ユーザー😀", agt="did:ä"))

    assert grant.principal_id == "ユーザー😀"
    assert is_unicode_text({"a": ["b", {"c": 1, "d": None}]})


def test_a_deeply_nested_claim_does_not_exhaust_the_stack():
    nested: Any = "\ud800"
    for _ in range(100_000):
        nested = [nested]

    assert not is_unicode_text({"x": nested})


@pytest.mark.parametrize(
    "confirmation",
    [{}, {"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}, {"jwk": {"kty": "EC"}}],
)
def test_a_confirmation_the_vault_cannot_check_is_refused_not_taken_for_a_bearer_token(
    confirmation,
):
    # A token bound by some other method (RFC 7800: mTLS x5t#S256, an embedded jwk) is
    # not a bearer token: releasing to it without that check would be failing open.
    with pytest.raises(Unauthorized) as refused:
        read_claims(claims(cnf=confirmation))

    assert refused.value.reason == "bad_claims"
