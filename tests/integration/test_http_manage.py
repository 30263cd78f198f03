"""List, get, delete and erase over HTTP, on both backends: shapes, filters,
pagination, cursors, tenant isolation and audit."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.http_app import PATH, bearer
from vault.bootstrap import get_vault


@pytest.fixture
def key_one(api_key: str) -> str:
    return api_key


@pytest.fixture
def key_two(client: Any) -> str:
    return get_vault().keys.create("dev-2", "tests")[0]


def store(client: Any, api_key: str, **fields: Any) -> dict[str, Any]:
    body = {"principalId": "user-1", "service": "github", "accessToken": "ghp_secret", **fields}
    response = client.post(PATH, json=body, headers=bearer(api_key))
    assert response.status_code == 201, response.get_json()
    return dict(response.get_json())


def test_get_returns_the_item_without_token_material(client, key_one):
    stored = store(
        client,
        key_one,
        refreshToken="ghr_secret",
        tokenExpiresAt="2031-01-01T00:00:00+02:00",
        metadata={"scopes": ["repo"]},
    )

    response = client.get(f"{PATH}/{stored['id']}", headers=bearer(key_one))

    assert response.status_code == 200
    assert response.get_json() == {
        "id": stored["id"],
        "principalId": "user-1",
        "service": "github",
        "credentialType": "oauth2",
        "tokenExpiresAt": "2030-12-31T22:00:00.000Z",
        "hasRefreshToken": True,
        "status": "active",
        "lastRefreshedAt": None,
        "lastError": None,
        "metadata": {"scopes": ["repo"]},
        "createdAt": stored["createdAt"],
        "updatedAt": stored["updatedAt"],
    }
    assert "secret" not in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


def test_cleared_metadata_reads_back_as_empty_object(client, key_one):
    store(client, key_one, metadata={"a": 1})
    stored = store(client, key_one, metadata=None)

    item = client.get(f"{PATH}/{stored['id']}", headers=bearer(key_one)).get_json()

    assert item["metadata"] == {} and item["hasRefreshToken"] is False


def test_another_developers_credential_is_404_on_get_delete_list_and_erase(
    client, key_one, key_two
):
    stored = store(client, key_one)
    url = f"{PATH}/{stored['id']}"

    assert client.get(url, headers=bearer(key_two)).status_code == 404
    assert client.delete(url, headers=bearer(key_two)).status_code == 404
    listed = client.get(PATH, headers=bearer(key_two)).get_json()
    erased = client.delete(PATH, query_string={"principalId": "user-1"}, headers=bearer(key_two))

    assert listed == {"credentials": [], "nextCursor": None}
    assert erased.get_json() == {"deleted": 0}
    assert client.get(url, headers=bearer(key_one)).status_code == 200


def test_delete_is_204_then_404_and_audited(client, key_one):
    stored = store(client, key_one)
    url = f"{PATH}/{stored['id']}"

    first = client.delete(url, headers=bearer(key_one))
    second = client.delete(url, headers=bearer(key_one))

    assert first.status_code == 204 and first.get_data() == b""
    assert second.status_code == 404 and second.get_json()["code"] == "NOT_FOUND"
    assert client.get(url, headers=bearer(key_one)).status_code == 404
    actions = [entry.action for entry in get_vault().credentials.audit_entries("dev-1")]
    assert actions == ["store", "delete"]


def test_unknown_id_is_404(client, key_one):
    for identifier in ["vc_doesnotexist", "x" * 128, "%2e%2e"]:
        response = client.get(f"{PATH}/{identifier}", headers=bearer(key_one))
        assert response.status_code == 404


def test_erase_deletes_every_credential_of_one_principal(client, key_one):
    for service in ("github", "slack", "google"):
        store(client, key_one, service=service)
    store(client, key_one, principalId="user-2")

    response = client.delete(PATH, query_string={"principalId": "user-1"}, headers=bearer(key_one))

    nothing = client.delete(PATH, query_string={"principalId": "nobody"}, headers=bearer(key_one))

    assert response.status_code == 200 and response.get_json() == {"deleted": 3}
    assert nothing.get_json() == {"deleted": 0}
    remaining = client.get(PATH, headers=bearer(key_one)).get_json()["credentials"]
    assert [item["principalId"] for item in remaining] == ["user-2"]
    erased = [e for e in get_vault().credentials.audit_entries("dev-1") if e.action == "erase"]
    assert sorted((entry.principal_id, entry.service or "") for entry in erased) == [
        ("nobody", ""),
        ("user-1", "github"),
        ("user-1", "google"),
        ("user-1", "slack"),
    ]


@pytest.mark.parametrize("query", [{}, {"principalId": ""}, {"principalId": " x"}])
def test_erase_without_a_valid_principal_is_400(client, key_one, query):
    store(client, key_one)

    response = client.delete(PATH, query_string=query, headers=bearer(key_one))

    assert response.status_code == 400
    assert response.get_json()["details"][0]["field"] == "principalId"
    assert len(client.get(PATH, headers=bearer(key_one)).get_json()["credentials"]) == 1


def test_list_is_newest_first_and_filters_exactly(client, key_one):
    store(client, key_one, principalId="user-1", service="github")
    store(client, key_one, principalId="user-1", service="slack")
    store(client, key_one, principalId="user-2", service="github")

    everything = client.get(PATH, headers=bearer(key_one)).get_json()["credentials"]
    by_principal = client.get(PATH, query_string={"principalId": "user-1"}, headers=bearer(key_one))
    by_service = client.get(PATH, query_string={"service": "GitHub"}, headers=bearer(key_one))
    by_both = client.get(
        PATH, query_string={"principalId": "user-2", "service": "github"}, headers=bearer(key_one)
    )

    assert [(i["principalId"], i["service"]) for i in everything] == [
        ("user-2", "github"),
        ("user-1", "slack"),
        ("user-1", "github"),
    ]
    assert {i["service"] for i in by_principal.get_json()["credentials"]} == {"github", "slack"}
    assert {i["principalId"] for i in by_service.get_json()["credentials"]} == {"user-1", "user-2"}
    assert len(by_both.get_json()["credentials"]) == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "1.5"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"service": "not a service"}, "service"),
        ({"principalId": "bad\u0007"}, "principalId"),
        ({"cursor": "garbage"}, "cursor"),
    ],
)
def test_bad_list_queries_are_400(client, key_one, query, field):
    response = client.get(PATH, query_string=query, headers=bearer(key_one))

    assert response.status_code == 400
    assert field in [detail["field"] for detail in response.get_json()["details"]]


def test_pagination_walks_250_credentials_exactly_once(client, key_one):
    vault = get_vault()
    caller = vault.guard.admit_api_key(key_one, "test")[0]
    from vault.models import StoreCredentialRequest, validate

    expected = set()
    for index in range(250):
        request = validate(
            StoreCredentialRequest,
            {"principalId": f"user-{index:03d}", "service": "github", "accessToken": "t"},
        )
        expected.add(vault.service.store(caller, request, "seed").credential_id)

    seen: list[str] = []
    pages = 0
    cursor = None
    while True:
        query = {"limit": "7"} | ({"cursor": cursor} if cursor else {})
        page = client.get(PATH, query_string=query, headers=bearer(key_one)).get_json()
        pages += 1
        seen += [item["id"] for item in page["credentials"]]
        assert len(page["credentials"]) <= 7
        cursor = page["nextCursor"]
        if cursor is None:
            break

    assert pages == 36  # 35 full pages and one of 5
    assert len(seen) == 250 and set(seen) == expected


def test_cursor_is_bound_to_the_filters_and_the_caller(client, key_one, key_two):
    for index in range(3):
        store(client, key_one, principalId=f"user-{index}")
    cursor = client.get(PATH, query_string={"limit": "1"}, headers=bearer(key_one)).get_json()[
        "nextCursor"
    ]
    assert cursor

    same = client.get(PATH, query_string={"limit": "1", "cursor": cursor}, headers=bearer(key_one))
    other_filter = client.get(
        PATH, query_string={"cursor": cursor, "service": "github"}, headers=bearer(key_one)
    )
    foreign = client.get(PATH, query_string={"cursor": cursor}, headers=bearer(key_two))
    payload, tag = cursor.split(".")
    forged = client.get(
        PATH, query_string={"cursor": payload[:-2] + "AA." + tag}, headers=bearer(key_one)
    )

    assert same.status_code == 200
    assert [r.status_code for r in (other_filter, foreign, forged)] == [400, 400, 400]


def test_a_cursor_signed_with_the_key_digest_is_refused(client, key_one):
    """The digest of an API key is computable by its holder; cursors must not rely on it."""
    import hashlib

    from vault.cursors import encode_cursor

    store(client, key_one)
    digest = bytes.fromhex(hashlib.sha256(key_one.encode()).hexdigest())
    forged = encode_cursor(digest, "dev-1", None, None, (2**70, "vc_" + "a" * 32))

    response = client.get(PATH, query_string={"cursor": forged}, headers=bearer(key_one))

    assert response.status_code == 400
