"""GET /v1/vault/audit on both backends: the caller's developer only, every filter,
bound cursors, validation, and never token material."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.support.http_app import PATH, bearer
from vault.bootstrap import get_vault
from vault.ids import credential_id

AUDIT = "/v1/vault/audit"
FIELDS = {
    "id",
    "action",
    "actor",
    "credentialId",
    "principalId",
    "service",
    "outcome",
    "requestId",
    "at",
}


def _store(client: Any, key: str, principal: str, service: str) -> None:
    body = {"principalId": principal, "service": service, "accessToken": "ghp_audit_secret"}
    assert client.post(PATH, json=body, headers=bearer(key)).status_code == 201
    time.sleep(0.002)  # entries a millisecond apart, the precision of `at` and `since`


@pytest.fixture
def trail(client: Any, api_key: str) -> dict[str, Any]:
    """dev-1: three stores and a delete; dev-2: one store."""
    other_key = get_vault().keys.create("dev-2", "other")[0]
    _store(client, api_key, "alice", "github")
    _store(client, api_key, "alice", "slack")
    _store(client, api_key, "bob", "github")
    gone = credential_id("dev-1", "alice", "slack")
    assert client.delete(f"{PATH}/{gone}", headers=bearer(api_key)).status_code == 204
    _store(client, other_key, "alice", "github")
    return {"other_key": other_key, "deleted": gone}


def _entries(client: Any, key: str, **query: str) -> dict[str, Any]:
    response = client.get(AUDIT, query_string=query, headers=bearer(key))
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    return dict(response.get_json())


def test_the_caller_sees_only_its_developers_entries_newest_first(
    client: Any, api_key: str, trail: dict[str, Any]
) -> None:
    page = _entries(client, api_key)

    entries = page["entries"]
    assert page["nextCursor"] is None
    assert [entry["action"] for entry in entries] == ["delete", "store", "store", "store"]
    assert [(e["principalId"], e["service"]) for e in entries] == [
        ("alice", "slack"),
        ("bob", "github"),
        ("alice", "slack"),
        ("alice", "github"),
    ]
    assert all(set(entry) == FIELDS for entry in entries)
    assert all(entry["actor"].startswith("key_") for entry in entries)
    assert [e["at"] for e in entries] == sorted((e["at"] for e in entries), reverse=True)
    other = _entries(client, trail["other_key"])["entries"]
    assert [(e["action"], e["principalId"]) for e in other] == [("store", "alice")]
    assert not {e["id"] for e in other} & {e["id"] for e in entries}


def test_each_filter_narrows_the_trail(client: Any, api_key: str, trail: dict[str, Any]) -> None:
    by_credential = _entries(client, api_key, credentialId=trail["deleted"])["entries"]
    by_principal = _entries(client, api_key, principalId="alice")["entries"]
    deletes = _entries(client, api_key, action="delete")["entries"]
    alice_stores = _entries(client, api_key, principalId="alice", action="store")["entries"]

    assert [e["action"] for e in by_credential] == ["delete", "store"]
    assert {e["credentialId"] for e in by_credential} == {trail["deleted"]}
    assert {e["principalId"] for e in by_principal} == {"alice"} and len(by_principal) == 3
    assert [e["credentialId"] for e in deletes] == [trail["deleted"]]
    assert [e["service"] for e in alice_stores] == ["slack", "github"]


def test_since_keeps_entries_at_or_after_the_moment(
    client: Any, api_key: str, trail: dict[str, Any]
) -> None:
    everything = _entries(client, api_key)["entries"]
    newest = everything[0]["at"]
    time.sleep(0.01)  # the next entry's time must differ at millisecond precision
    _store(client, api_key, "carol", "github")

    recent = _entries(client, api_key, since=newest)["entries"]
    later = _entries(client, api_key, since="2999-01-01T00:00:00Z")["entries"]

    assert [(e["principalId"], e["action"]) for e in recent] == [
        ("carol", "store"),
        ("alice", "delete"),
    ]
    assert all(entry["at"] >= newest for entry in recent)
    assert later == []


def test_pages_with_a_cursor_cover_the_trail_once(
    client: Any, api_key: str, trail: dict[str, Any]
) -> None:
    everything = _entries(client, api_key)["entries"]
    seen: list[str] = []
    query: dict[str, str] = {"limit": "1"}
    while True:
        page = _entries(client, api_key, **query)
        assert len(page["entries"]) <= 1
        seen += [entry["id"] for entry in page["entries"]]
        if page["nextCursor"] is None:
            break
        query = {"limit": "1", "cursor": page["nextCursor"]}

    assert seen == [entry["id"] for entry in everything]


def test_a_cursor_is_bound_to_the_caller_and_the_filters(
    client: Any, api_key: str, trail: dict[str, Any]
) -> None:
    cursor = _entries(client, api_key, limit="1", principalId="alice")["nextCursor"]
    assert cursor is not None
    payload, tag = cursor.split(".")
    attempts = [
        (api_key, {"cursor": cursor}),  # the filters changed
        (api_key, {"cursor": cursor, "principalId": "bob"}),
        (trail["other_key"], {"cursor": cursor, "principalId": "alice"}),  # another developer
        (api_key, {"cursor": payload + "." + tag[::-1], "principalId": "alice"}),  # forged
        (api_key, {"cursor": "garbage", "principalId": "alice"}),
    ]

    for key, query in attempts:
        response = client.get(AUDIT, query_string={"limit": "1", **query}, headers=bearer(key))
        assert response.status_code == 400, query
        assert response.get_json()["details"][0]["field"] == "cursor"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("limit", "0"),
        ("limit", "1001"),
        ("limit", "ten"),
        ("action", "steal"),
        ("since", "yesterday"),
        ("credentialId", "not-an-id"),
        ("principalId", " padded "),
    ],
)
def test_bad_query_parameters_are_400_with_details(
    client: Any, api_key: str, name: str, value: str
) -> None:
    response = client.get(AUDIT, query_string={name: value}, headers=bearer(api_key))

    assert response.status_code == 400
    assert [detail["field"] for detail in response.get_json()["details"]] == [name]


def test_the_audit_needs_an_api_key_and_holds_no_token(
    client: Any, api_key: str, trail: dict[str, Any]
) -> None:
    assert client.get(AUDIT).status_code == 401
    response = client.get(AUDIT, query_string={"limit": "1000"}, headers=bearer(api_key))

    assert response.status_code == 200
    assert "ghp_audit_secret" not in response.get_data(as_text=True)


def test_options_and_head_on_the_audit_path(client: Any, api_key: str) -> None:
    options = client.options(AUDIT)
    head = client.head(AUDIT, headers=bearer(api_key))

    assert options.status_code == 204
    assert options.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert head.status_code == 200 and head.get_data() == b""
