"""The validation table: every rule of every store field, and each wrong type."""

from __future__ import annotations

from typing import Any

import pytest

from vault.errors import BadRequest
from vault.models import StoreCredentialRequest, parse_rfc3339, validate

VALID = {"principalId": "user_abc123", "service": "github", "accessToken": "ghp_x"}


def fields_in_error(body: dict[str, Any]) -> list[str]:
    with pytest.raises(BadRequest) as caught:
        validate(StoreCredentialRequest, body)
    return [detail.field for detail in caught.value.details]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        # principalId: 1-256 code points, no Cc, no outer white space
        ("principalId", ""),
        ("principalId", "x" * 257),
        ("principalId", "a\x00b"),
        ("principalId", "a\nb"),
        ("principalId", "a\x85b"),
        ("principalId", " lead"),
        ("principalId", "trail\u3000"),
        ("principalId", "\ud800"),
        # service: ^[a-z0-9][a-z0-9._-]{0,63}$ ignoring case
        ("service", ""),
        ("service", "-github"),
        ("service", "git hub"),
        ("service", "a" * 65),
        ("service", "github\n"),
        ("service", "\u212a"),  # Kelvin sign folds to k under Unicode IGNORECASE
        ("service", "gïthub"),
        # accessToken: 1-16384 code points
        ("accessToken", ""),
        ("accessToken", "x" * 16385),
        ("accessToken", "\udfff"),
        # credentialType: ^[a-z0-9][a-z0-9._-]{0,31}$
        ("credentialType", ""),
        ("credentialType", "OAuth2"),
        ("credentialType", "a" * 33),
        ("credentialType", ".x"),
        # refreshToken: 1-16384 code points or null
        ("refreshToken", ""),
        ("refreshToken", "x" * 16385),
        # tokenExpiresAt: RFC 3339 with an offset, or null
        ("tokenExpiresAt", "2026-04-06T12:00:00"),
        ("tokenExpiresAt", "2026-04-06"),
        ("tokenExpiresAt", "2026-02-30T00:00:00Z"),
        ("tokenExpiresAt", "2026-04-06T24:00:00Z"),
        ("tokenExpiresAt", "2026-04-06T12:00:00+25:00"),
        ("tokenExpiresAt", "0000-01-01T00:00:00Z"),
        ("tokenExpiresAt", "9999-12-31T23:00:00-14:00"),  # year 10000 in UTC
        ("tokenExpiresAt", "0001-01-01T00:30:00+01:00"),  # year 0 in UTC
        ("tokenExpiresAt", "2026-04-06T12:00:00Z\n"),
        ("tokenExpiresAt", "next tuesday"),
        # metadata: object, <= 8192 bytes compact, <= 10 levels
        ("metadata", {"x": "y" * 8200}),
        ("metadata", {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": {}}}}}}}}}}}),
        ("metadata", {"a": [[[[[[[[[[]]]]]]]]]]}),
        ("metadata", {"bad": "\ud800"}),
    ],
)
def test_each_rule_rejects_with_the_field_named(field, value):
    assert field in fields_in_error({**VALID, field: value})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("principalId", 7),
        ("principalId", None),
        ("principalId", ["x"]),
        ("service", 1),
        ("service", None),
        ("accessToken", 12),
        ("accessToken", None),
        ("accessToken", {"a": 1}),
        ("credentialType", 3),
        ("refreshToken", True),
        ("tokenExpiresAt", 1_700_000_000),
        ("metadata", "text"),
        ("metadata", [1, 2]),
        ("metadata", 5),
        ("metadata", True),
    ],
)
def test_wrong_types_are_rejected_not_coerced(field, value):
    assert fields_in_error({**VALID, field: value}) == [field]


@pytest.mark.parametrize("missing", ["principalId", "service", "accessToken"])
def test_required_fields(missing):
    body = {key: value for key, value in VALID.items() if key != missing}

    assert fields_in_error(body) == [missing]


def test_valid_edges_are_accepted_and_normalised():
    request = validate(
        StoreCredentialRequest,
        {
            "principalId": "x" * 256,
            "service": "GitHub.Enterprise_1-a",
            "accessToken": "t" * 16384,
            "credentialType": "a" * 32,
            "refreshToken": None,
            "tokenExpiresAt": "2026-04-06T12:00:00.123456789+02:00",
            "metadata": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {}}}}}}}}}},
            "unknown": "ignored",
        },
    )

    assert request.service == "github.enterprise_1-a"
    assert request.expiry_micros() == parse_rfc3339("2026-04-06T10:00:00.123456Z")
    assert request.is_set("refresh_token") and request.refresh_token is None
    assert not request.is_set("token_expires_at") or request.token_expires_at is not None


def test_metadata_size_is_measured_as_compact_utf8():
    at_limit = {"k": "é" * ((8192 - len('{"k":""}')) // 2)}

    request = validate(StoreCredentialRequest, {**VALID, "metadata": at_limit})

    assert request.metadata == at_limit
    assert "metadata" in fields_in_error({**VALID, "metadata": {"k": at_limit["k"] + "éé"}})


def test_error_messages_never_echo_the_input():
    with pytest.raises(BadRequest) as caught:
        validate(StoreCredentialRequest, {**VALID, "accessToken": "", "refreshToken": 99})

    text = repr([detail.as_dict() for detail in caught.value.details])
    assert "99" not in text


def test_request_repr_hides_tokens():
    request = validate(StoreCredentialRequest, {**VALID, "refreshToken": "ghr_secret"})

    assert "ghp_x" not in repr(request) and "ghr_secret" not in repr(request)
