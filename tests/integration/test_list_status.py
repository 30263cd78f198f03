"""Status on list items and the `status` / `expiringBefore` filters, on both backends."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.http_app import PATH, bearer
from tests.support.issuer import TestIssuer
from tests.support.oauth_flow import SERVICE, exchange, expiry_in, register
from tests.support.oidc_provider import OidcProvider


def put(client: Any, api_key: str, principal: str, service: str, **fields: Any) -> str:
    body = {"principalId": principal, "service": service, "accessToken": "at", **fields}
    response = client.post(PATH, json=body, headers=bearer(api_key))
    assert response.status_code == 201
    return str(response.get_json()["id"])


def listed(client: Any, api_key: str, **query: str) -> list[str]:
    response = client.get(PATH, query_string=query, headers=bearer(api_key))
    assert response.status_code == 200, response.get_json()
    return sorted(item["id"] for item in response.get_json()["credentials"])


@pytest.fixture
def population(client, api_key, oidc_provider: OidcProvider, issuer: TestIssuer) -> dict[str, str]:
    register(client, api_key, oidc_provider)
    burnt = oidc_provider.tokens()
    assert burnt.refresh_token is not None
    oidc_provider.refresh_directly(burnt.refresh_token)
    ids = {
        "no_expiry": put(client, api_key, "p1", "plain"),
        "later": put(client, api_key, "p2", "plain", tokenExpiresAt=expiry_in(7200)),
        "expired": put(client, api_key, "p3", "plain", tokenExpiresAt=expiry_in(-60)),
        "refreshable": put(
            client, api_key, "p4", SERVICE, refreshToken="rt", tokenExpiresAt=expiry_in(-60)
        ),
        "needs_reauth": put(
            client,
            api_key,
            "user-1",
            SERVICE,
            accessToken=burnt.access_token,
            refreshToken=burnt.refresh_token,
            tokenExpiresAt=expiry_in(60),
        ),
    }
    assert exchange(client, issuer).status_code == 200  # refused refresh: needs_reauth
    return ids


def test_items_carry_their_status(client, api_key, population):
    items = client.get(PATH, headers=bearer(api_key)).get_json()["credentials"]

    status = {item["id"]: item["status"] for item in items}

    assert status == {
        population["no_expiry"]: "active",
        population["later"]: "active",
        population["expired"]: "expired",
        population["refreshable"]: "active",
        population["needs_reauth"]: "needs_reauth",
    }


@pytest.mark.parametrize(
    ("status", "names"),
    [
        ("active", ["no_expiry", "later", "refreshable"]),
        ("expired", ["expired"]),
        ("needs_reauth", ["needs_reauth"]),
    ],
)
def test_the_status_filter(client, api_key, population, status, names):
    assert listed(client, api_key, status=status) == sorted(population[n] for n in names)


def cli_listed(capsys: pytest.CaptureFixture[str], *options: str) -> list[dict[str, Any]]:
    from vault.__main__ import main

    capsys.readouterr()
    assert main(["credentials", "list", *options]) == 0
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line]


@pytest.mark.parametrize(
    ("status", "names"),
    [
        ("active", ["no_expiry", "later", "refreshable"]),
        ("expired", ["expired"]),
        ("needs_reauth", ["needs_reauth"]),
    ],
)
def test_the_cli_status_filter_agrees_with_the_api(
    client, api_key, population, capsys, status, names
):
    found = cli_listed(capsys, "--status", status)

    assert sorted(item["id"] for item in found) == sorted(population[n] for n in names)
    assert sorted(item["id"] for item in found) == listed(client, api_key, status=status)
    assert {item["status"] for item in found} == {status}
    assert all("accessToken" not in item and "refreshToken" not in item for item in found)


def test_the_cli_combines_status_and_expiring_before(client, api_key, population, capsys):
    soon = expiry_in(3600)

    found = cli_listed(capsys, "--status", "active", "--expiring-before", soon)

    assert [item["id"] for item in found] == [population["refreshable"]]
    assert [item["id"] for item in found] == listed(
        client, api_key, status="active", expiringBefore=soon
    )


@pytest.mark.parametrize("value", ["revoked", "", "ACTIVE"])
def test_the_cli_refuses_an_unknown_status(backend_env, capsys, value):
    from vault.__main__ import main

    assert main(["credentials", "list", "--status", value]) == 2
    assert capsys.readouterr().err.startswith("error: --status must be one of")


def test_expiring_before_includes_expired_and_excludes_no_expiry(client, api_key, population):
    found = listed(client, api_key, expiringBefore=expiry_in(3600))

    assert found == sorted(population[n] for n in ("expired", "refreshable", "needs_reauth"))


def test_filters_combine_and_page(client, api_key, population):
    first = client.get(
        PATH, query_string={"status": "active", "limit": "2"}, headers=bearer(api_key)
    ).get_json()
    second = client.get(
        PATH,
        query_string={"status": "active", "limit": "2", "cursor": first["nextCursor"]},
        headers=bearer(api_key),
    ).get_json()

    ids = [item["id"] for item in first["credentials"] + second["credentials"]]
    assert sorted(ids) == sorted(population[n] for n in ("no_expiry", "later", "refreshable"))
    assert second["nextCursor"] is None


@pytest.mark.parametrize(
    "query",
    [
        {"status": "revoked"},
        {"status": ""},
        {"expiringBefore": "tomorrow"},
        {"expiringBefore": "2026-13-01T00:00:00Z"},
    ],
)
def test_a_bad_filter_is_400(client, api_key, query):
    response = client.get(PATH, query_string=query, headers=bearer(api_key))

    assert response.status_code == 400
    assert response.get_json()["details"][0]["field"] == next(iter(query))


def test_a_filtered_list_that_runs_out_of_scan_budget_gives_a_cursor(client, api_key, monkeypatch):
    """A filter matching little among many records: each API page reads a bounded number
    of store pages; when that runs out first the page is short but its cursor goes on,
    so following cursors still finds every match (nothing silently cut off)."""
    from vault import service

    monkeypatch.setattr(service, "_SCAN_PAGES", 2)
    monkeypatch.setattr(service, "_SCAN_PAGE_SIZE", 2)
    wanted = {put(client, api_key, "old", "plain", tokenExpiresAt=expiry_in(-60))}
    for index in range(9):
        put(client, api_key, f"fresh-{index}", "plain")
    wanted.add(put(client, api_key, "also-old", "plain", tokenExpiresAt=expiry_in(-60)))

    seen: list[str] = []
    pages = 0
    cursor = None
    while True:
        query = {"status": "expired", "limit": "5", **({"cursor": cursor} if cursor else {})}
        body = client.get(PATH, query_string=query, headers=bearer(api_key)).get_json()
        seen += [item["id"] for item in body["credentials"]]
        pages += 1
        cursor = body["nextCursor"]
        if cursor is None:
            break
        assert pages < 10

    assert sorted(seen) == sorted(wanted)
    assert pages > 1  # the budget ran out at least once and the cursor carried on
