"""POST /v1/vault/credentials through the functions-framework test client, on both
backends: every status CONTRACT.md allows this endpoint, in the contract's order."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from tests.support.http_app import make_client
from vault.bootstrap import get_vault
from vault.ids import credential_id

PATH = "/v1/vault/credentials"
BODY = {"principalId": "user-1", "service": "github", "accessToken": "ghp_secret_token"}


def auth(api_key: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", **headers}


def post(client: Any, api_key: str, body: Any = BODY, **kwargs: Any) -> Any:
    return client.post(PATH, json=body, headers=auth(api_key), **kwargs)


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert body["requestId"] == response.headers["X-Request-Id"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    return body


def test_store_creates_then_updates_with_201(client, api_key):
    created = post(client, api_key)
    updated = post(client, api_key, {**BODY, "accessToken": "ghp_other"})

    assert created.status_code == 201 and updated.status_code == 201
    first, second = created.get_json(), updated.get_json()
    assert set(first) == {
        "id",
        "principalId",
        "service",
        "credentialType",
        "createdAt",
        "updatedAt",
    }
    assert first["id"] == second["id"] == credential_id("dev-1", "user-1", "github")
    assert first["createdAt"] == second["createdAt"]
    assert first["createdAt"].endswith("Z") and len(first["createdAt"]) == 24
    assert created.headers["Cache-Control"] == "no-store"
    assert "ghp_secret_token" not in created.get_data(as_text=True)


def test_rate_limit_headers_on_authenticated_responses(client, api_key):
    response = post(client, api_key)

    assert response.headers["X-RateLimit-Limit"] == "1200"
    assert response.headers["X-RateLimit-Remaining"] == "1199"
    assert int(response.headers["X-RateLimit-Reset"]) > 1_700_000_000


def test_sane_request_id_is_echoed_and_hostile_one_replaced(client, api_key):
    echoed = client.post(
        PATH, json=BODY, headers=auth(api_key, **{"X-Request-Id": "abc.DEF:1-2_3"})
    )
    replaced = client.post(PATH, json=BODY, headers=auth(api_key, **{"X-Request-Id": "a" * 129}))

    assert echoed.headers["X-Request-Id"] == "abc.DEF:1-2_3"
    assert replaced.headers["X-Request-Id"] != "a" * 129
    assert len(replaced.headers["X-Request-Id"]) == 32


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**BODY, "accessToken": 12}, "accessToken"),
        ({**BODY, "metadata": "text"}, "metadata"),
        ({**BODY, "principalId": ""}, "principalId"),
        ({"service": "github", "accessToken": "x"}, "principalId"),
        ({**BODY, "service": "git hub"}, "service"),
        ({**BODY, "tokenExpiresAt": "tomorrow"}, "tokenExpiresAt"),
        ({**BODY, "refreshToken": ["x"]}, "refreshToken"),
        ({**BODY, "credentialType": "OAuth2"}, "credentialType"),
        ({**BODY, "principalId": "\ud800"}, "principalId"),
    ],
)
def test_invalid_fields_are_400_with_details_naming_the_field(client, api_key, body, field):
    response = client.post(
        PATH,
        data=json.dumps(body),
        headers=auth(api_key, **{"Content-Type": "application/json"}),
    )

    details = assert_error(response, 400, "BAD_REQUEST")["details"]
    assert field in [detail["field"] for detail in details]
    assert "ghp_secret_token" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "raw",
    [b"{", b"[1, 2]", b'"text"', b'{"a": NaN}', b"\xff\xfe", b"[" * 5000 + b"]" * 5000],
)
def test_malformed_or_non_object_json_is_400(client, api_key, raw):
    response = client.post(
        PATH, data=raw, headers=auth(api_key, **{"Content-Type": "application/json"})
    )

    assert_error(response, 400, "BAD_REQUEST")


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/json; charset=latin-1", "application/x-www-form-urlencoded", None],
)
def test_other_media_types_are_415(client, api_key, content_type):
    headers = auth(api_key)
    if content_type:
        headers["Content-Type"] = content_type
    response = client.post(PATH, data=json.dumps(BODY), headers=headers)

    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_media_type_is_compared_case_insensitively(client, api_key):
    response = client.post(
        PATH,
        data=json.dumps(BODY),
        headers=auth(api_key, **{"Content-Type": "Application/JSON; Charset=UTF-8"}),
    )

    assert response.status_code == 201


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic abc", "Bearer ", "Bearer not-a-key", "Bearer gx_live_" + "A" * 43],
)
def test_bad_credentials_are_401_with_one_message(client, api_key, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.post(PATH, json=BODY, headers=headers)

    body = assert_error(response, 401, "UNAUTHORIZED")
    assert body["message"] == "missing or invalid credentials"
    assert "X-RateLimit-Limit" not in response.headers


def test_scheme_name_is_case_insensitive(client, api_key):
    response = client.post(PATH, json=BODY, headers={"Authorization": f"bEaReR {api_key}"})

    assert response.status_code == 201


def test_revoked_key_is_401(client, backend_env):
    os.environ["VAULT_API_KEY_CACHE_SECONDS"] = "0"
    vault = get_vault()
    api_key, record = vault.keys.create("dev-1", "tests")
    assert post(client, api_key).status_code == 201

    vault.keys.revoke(record.key_id)

    assert_error(post(client, api_key), 401, "UNAUTHORIZED")


def test_unknown_path_is_404_and_known_path_other_method_405(client, api_key):
    missing = client.get("/v1/vault/nothing", headers=auth(api_key))
    robots = client.get("/robots.txt")
    wrong_method = client.put(PATH, json=BODY, headers=auth(api_key))

    assert_error(missing, 404, "NOT_FOUND")
    assert_error(robots, 404, "NOT_FOUND")
    assert_error(wrong_method, 405, "METHOD_NOT_ALLOWED")
    assert "POST" in wrong_method.headers["Allow"]


def test_options_is_204_with_allow_and_no_cors(client):
    response = client.options(PATH)

    assert response.status_code == 204
    assert set(response.headers["Allow"].split(", ")) >= {"POST", "OPTIONS"}
    assert not any(
        name.lower().startswith("access-control-") for name, _ in response.headers.items()
    )


def test_body_over_64_kib_is_413_before_anything_else(client, api_key):
    big = json.dumps({**BODY, "metadata": {"x": "y" * 70_000}})
    oversized_unknown_path = client.post("/nowhere", data=big, content_type="application/json")
    oversized = client.post(PATH, data=big, content_type="application/json")

    assert_error(oversized_unknown_path, 413, "PAYLOAD_TOO_LARGE")
    assert_error(oversized, 413, "PAYLOAD_TOO_LARGE")


def test_checks_run_in_contract_order(client, api_key):
    # route before auth, auth before media type, media type before validation
    assert client.post("/v1/other", data="x").status_code == 404
    assert client.post(PATH, data="x", content_type="text/plain").status_code == 401
    assert (
        client.post(PATH, data="{", content_type="text/plain", headers=auth(api_key)).status_code
        == 415
    )


def test_per_key_rate_limit_is_429_with_retry_after(backend_env):
    os.environ["VAULT_RATE_LIMIT_PER_MINUTE"] = "2"
    client = make_client()
    api_key = get_vault().keys.create("dev-1", "tests")[0]

    statuses = [post(client, api_key).status_code for _ in range(3)]
    limited = post(client, api_key)

    assert statuses == [201, 201, 429]
    assert_error(limited, 429, "RATE_LIMIT_EXCEEDED")
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["X-RateLimit-Remaining"] == "0"


def test_repeated_auth_failures_from_one_address_are_429(backend_env):
    os.environ["VAULT_AUTH_FAILURES_PER_MINUTE"] = "2"
    os.environ["VAULT_TRUSTED_PROXY_HOPS"] = "1"  # as behind Cloud Run's front end
    client = make_client()
    api_key = get_vault().keys.create("dev-1", "tests")[0]
    wrong = {"Authorization": "Bearer gx_live_" + "B" * 43}

    def from_address(forwarded: str, headers: dict[str, str]) -> int:
        response = client.post(PATH, json=BODY, headers={**headers, "X-Forwarded-For": forwarded})
        return int(response.status_code)

    # The client varies the entries it controls (the left ones); the proxy's is the same.
    statuses = [from_address(f"10.0.0.{n}, 198.51.100.7", wrong) for n in range(3)]
    victim_elsewhere = from_address("203.0.113.9", auth(api_key))
    same_address_good_key = from_address("198.51.100.7", auth(api_key))

    assert statuses == [401, 401, 429]
    assert victim_elsewhere == 201
    assert same_address_good_key == 429  # refused before its key is even looked up


def test_forwarded_for_is_ignored_without_a_trusted_proxy(backend_env):
    os.environ["VAULT_AUTH_FAILURES_PER_MINUTE"] = "2"
    client = make_client()
    wrong = {"Authorization": "Bearer gx_live_" + "B" * 43}

    statuses = [
        client.post(
            PATH, json=BODY, headers={**wrong, "X-Forwarded-For": f"203.0.113.{n}"}
        ).status_code
        for n in range(3)
    ]

    assert statuses == [401, 401, 429]  # one peer, whatever the header claims


def test_request_log_line_is_structured_and_holds_no_secret(client, api_key, capsys):
    capsys.readouterr()
    client.post(
        PATH,
        json={**BODY, "refreshToken": "ghr_refresh_secret"},
        headers=auth(
            api_key, **{"X-Cloud-Trace-Context": "105445aa7843bc8bf206b12000100000/1;o=1"}
        ),
    )

    output = capsys.readouterr().out
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    request_line = next(line for line in lines if line.get("status") == 201)
    assert request_line["severity"] == "INFO"
    assert request_line["developerId"] == "dev-1"
    assert request_line["outcome"] == "ok"
    assert isinstance(request_line["latencyMs"], float)
    assert request_line["logging.googleapis.com/trace"].endswith("105445aa7843bc8bf206b12000100000")
    for secret in (api_key, "ghp_secret_token", "ghr_refresh_secret"):
        assert secret not in output


def test_openapi_document_is_served_without_auth(client):
    response = client.get("/openapi.json")

    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    assert "/v1/vault/credentials/exchange" in document["paths"]
    assert "Cache-Control" not in response.headers


def test_head_answers_like_get_without_a_body(client, api_key):
    response = client.head("/v1/vault/credentials", headers=auth(api_key))

    assert response.status_code == 200
    assert response.get_data() == b""
    assert response.headers["X-RateLimit-Limit"] == "1200"


def test_a_vault_that_cannot_start_answers_in_the_error_shape_and_says_why_only_in_the_log(
    capsys,
):
    os.environ.update({"VAULT_BACKEND": "gcp"})  # without project, key or issuer
    client = make_client()

    response = client.post(
        "/v1/vault/credentials", json=BODY, headers={"Authorization": "Bearer x"}
    )

    body = assert_error(response, 500, "INTERNAL_ERROR")
    assert body["message"] == "internal error"
    assert "GOOGLE_CLOUD_PROJECT" in capsys.readouterr().out
    assert client.options("/v1/vault/credentials").status_code == 204
