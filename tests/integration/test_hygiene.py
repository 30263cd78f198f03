"""HTTP hygiene and secrecy: hostile request ids, HEAD/OPTIONS, no CORS, and a full
tour of the API after which no secret appears in any log line, error body, header or
exception message."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from tests.support.http_app import PATH, bearer
from tests.support.issuer import TestIssuer
from vault.bootstrap import get_vault

PATHS = [PATH, PATH + "/vc_" + "a" * 32, PATH + "/exchange", "/openapi.json", "/nowhere"]


@pytest.mark.parametrize(
    "hostile",
    ["abc\r\nX-Injected: 1", "a" * 129, "ünïcode", "with space", "", "semi;colon", "<script>"],
)
def test_hostile_request_ids_are_replaced_never_reflected(client, hostile, capsys):
    capsys.readouterr()
    response = client.get(PATH, environ_base={"HTTP_X_REQUEST_ID": hostile})

    generated = response.headers["X-Request-Id"]
    assert generated != hostile and re.fullmatch(r"[0-9a-f]{32}", generated)
    assert response.get_json()["requestId"] == generated
    assert "X-Injected" not in response.headers
    if hostile:
        assert hostile not in capsys.readouterr().out


@pytest.mark.parametrize("path", PATHS)
def test_head_and_options_never_fail_and_no_cors_anywhere(client, path):
    for method in ("HEAD", "OPTIONS", "GET", "PATCH"):
        response = client.open(path, method=method, headers={"Origin": "https://evil.example"})

        assert response.status_code < 500
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert not [
            name for name, _ in response.headers if name.lower().startswith("access-control")
        ]


def test_no_secret_escapes_a_full_tour(
    client, issuer: TestIssuer, capfd: pytest.CaptureFixture[str], caplog: Any
):
    caplog.set_level(logging.DEBUG)
    vault = get_vault()
    api_key = vault.keys.create("dev-1", "tour")[0]
    secrets_used = {api_key, "ghp_TOUR_ACCESS", "ghr_TOUR_REFRESH", "ghp_TOUR_EXPIRED"}
    bodies: list[str] = []
    headers_seen: list[str] = []

    def send(method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        response = client.open(
            path, method=method, headers=bearer(token) if token else {}, **kwargs
        )
        headers_seen.append(repr(list(response.headers)))
        if not (path.endswith("/exchange") and response.status_code == 200):
            bodies.append(response.get_data(as_text=True))
        return response

    stored = send(
        "POST",
        PATH,
        api_key,
        json={
            "principalId": "user-1",
            "service": "github",
            "accessToken": "ghp_TOUR_ACCESS",
            "refreshToken": "ghr_TOUR_REFRESH",
            "metadata": {"k": "v"},
        },
    ).get_json()
    send(
        "POST",
        PATH,
        api_key,
        json={
            "principalId": "user-1",
            "service": "slack",
            "accessToken": "ghp_TOUR_EXPIRED",
            "tokenExpiresAt": "2001-01-01T00:00:00Z",
        },
    )
    send("POST", PATH, api_key, json={"principalId": "u", "service": "x", "accessToken": 5})
    send("POST", PATH, api_key, data="{not json", content_type="application/json")
    send("POST", PATH, api_key, data="x", content_type="text/plain")
    send("POST", PATH, api_key[:-1] + "Z", json={})
    send("GET", PATH, api_key)
    send("GET", PATH, api_key, query_string={"cursor": "forged.cursor"})
    send("GET", f"{PATH}/{stored['id']}", api_key)
    grants = [issuer.mint(), issuer.mint(scp=["slack:read"]), issuer.mint(sub="nobody")]
    secrets_used.update(grants)
    for grant in grants:
        send("POST", PATH + "/exchange", grant, json={"service": "github"})
    send("POST", PATH + "/exchange", grants[0], json={"service": "slack"})
    send("POST", PATH + "/exchange", grants[0][:-4] + "AAAA", json={"service": "github"})
    send("POST", PATH + "/exchange", api_key, json={"service": "github"})
    send("DELETE", f"{PATH}/{stored['id']}", api_key)
    send("DELETE", PATH, api_key, query_string={"principalId": "user-1"})
    send("DELETE", PATH, api_key)

    output = capfd.readouterr()
    logged = (
        output.out
        + output.err
        + "\n".join(record.getMessage() + repr(record.__dict__) for record in caplog.records)
    )
    audit = repr(vault.credentials.audit_entries("dev-1"))
    places = {
        "logs": logged,
        "bodies": "\n".join(bodies),
        "headers": "\n".join(headers_seen),
        "audit": audit,
    }
    for secret in secrets_used:
        for place, text in places.items():
            assert secret not in text, f"a secret appeared in {place}"
        # Partial leaks too: the signature part of a JWT, the tail of a key.
        assert secret[-20:] not in logged
    assert logged.count('"severity"') >= 15  # the tour was logged, just without secrets
