"""Property tests: any JSON in any field is accepted or refused with details naming
fields, never an exception; through HTTP, any body is 201 or a 4xx in the error shape."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vault.errors import BadRequest
from vault.models import (
    ExchangeRequest,
    ListCredentialsQuery,
    StoreCredentialRequest,
    validate,
)

FIELDS = [
    "principalId",
    "service",
    "accessToken",
    "credentialType",
    "refreshToken",
    "tokenExpiresAt",
    "metadata",
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
VALID = {"principalId": "user-1", "service": "github", "accessToken": "t"}


def outcome(model: Any, body: dict[str, Any]) -> str:
    try:
        validate(model, body)
    except BadRequest as error:
        assert error.details, "a refusal always names the fields"
        assert all(detail.field and detail.message for detail in error.details)
        return "refused"
    return "accepted"


@settings(max_examples=300, deadline=None, derandomize=True)
@given(field=st.sampled_from(FIELDS), value=json_values)
def test_any_value_in_any_store_field_is_accepted_or_refused_with_details(field, value):
    outcome(StoreCredentialRequest, {**VALID, field: value})


@settings(max_examples=200, deadline=None, derandomize=True)
@given(body=st.dictionaries(st.sampled_from([*FIELDS, "other"]), json_values, max_size=8))
def test_any_store_body_is_accepted_or_refused_with_details(body):
    outcome(StoreCredentialRequest, body)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    query=st.dictionaries(
        st.sampled_from(["principalId", "service", "limit", "cursor", "x"]),
        st.text(max_size=40),
        max_size=5,
    )
)
def test_any_list_query_is_accepted_or_refused_with_details(query):
    outcome(ListCredentialsQuery, query)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(value=json_values)
def test_any_exchange_body_is_accepted_or_refused_with_details(value):
    outcome(ExchangeRequest, {"service": value})


@pytest.fixture(scope="module")
def local_app() -> Iterator[tuple[Any, str]]:
    """One app for every example: hypothesis runs the test body many times."""
    from tests.support.http_app import make_client
    from vault import bootstrap

    saved = dict(os.environ)
    with tempfile.TemporaryDirectory() as data_dir:
        os.environ.update(
            {
                "VAULT_BACKEND": "local",
                "VAULT_DATA_DIR": data_dir,
                "VAULT_RATE_LIMIT_PER_MINUTE": "0",
            }
        )
        bootstrap.reset()
        api_key = bootstrap.get_vault().keys.create("dev-props", "properties")[0]
        yield make_client(), api_key
    os.environ.clear()
    os.environ.update(saved)


@settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(body=st.dictionaries(st.sampled_from([*FIELDS, "x"]), json_values, max_size=8) | json_values)
def test_any_json_body_through_http_is_201_or_400_with_details(local_app, body):
    client, api_key = local_app

    response = client.post(
        "/v1/vault/credentials",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {api_key}"},
    )

    assert response.status_code in (201, 400), response.get_data(as_text=True)
    if response.status_code == 400:
        payload = response.get_json()
        assert payload["code"] == "BAD_REQUEST"
        if isinstance(body, dict):
            assert payload["details"]
