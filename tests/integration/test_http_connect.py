"""Connect sessions over plain HTTP, on both backends, against panva's oidc-provider:
the whole flow, denial, and every way a callback can be wrong (reused state, a state
from another session, an expired session, a tampered PKCE verifier, a replayed code,
missing parameters, hostile values, the provider down, a link opened twice)."""

from __future__ import annotations

import hashlib
import html
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import start_oidc_provider
from tests.support.connect_flow import (
    CALLBACK_PATH,
    SESSIONS_PATH,
    register_provider,
    through_provider,
)
from tests.support.http_app import PATH, bearer
from tests.support.oidc_provider import OidcProvider
from tests.support.service_level import reveal
from vault.bootstrap import Vault, get_vault
from vault.oauth.connect_sessions import VERIFIER_FIELD, verifier_binding
from vault.timefmt import now_micros

BASE = "http://127.0.0.1:8399"  # VAULT_PUBLIC_BASE_URL; the test client answers it
CALLBACK_URL = BASE + CALLBACK_PATH
APP = "https://app.example/connected?tab=accounts"
HOSTILE = "<script>alert(1)</script>\"'&x=1"


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    server = start_oidc_provider({"redirectUris": [CALLBACK_URL]})
    yield server
    server.stop()


@dataclass
class Connect:
    client: Any
    api_key: str
    vault: Vault
    provider: OidcProvider

    def create(self, **fields: Any) -> Any:
        body = {"principalId": "user-1", "service": "github", **fields}
        return self.client.post(SESSIONS_PATH, json=body, headers=bearer(self.api_key))

    def session(self, **fields: Any) -> dict[str, Any]:
        response = self.create(**fields)
        assert response.status_code == 201, response.get_data(as_text=True)
        return dict(response.get_json())

    def status(self, session_id: str) -> dict[str, Any]:
        response = self.client.get(f"{SESSIONS_PATH}/{session_id}", headers=bearer(self.api_key))
        assert response.status_code == 200
        return dict(response.get_json())

    def open(self, session: dict[str, Any]) -> str:
        response = self.client.get(urlsplit(session["connectUrl"]).path)
        assert response.status_code == 302, response.get_data(as_text=True)
        return str(response.headers["Location"])

    def provider_answer(self, session: dict[str, Any], consent: bool = True) -> dict[str, str]:
        return through_provider(self.open(session), CALLBACK_URL, consent=consent)

    def callback(self, query: dict[str, str]) -> Any:
        return self.client.get(CALLBACK_PATH, query_string=query)

    def credential(self, credential_id: str) -> Any:
        return self.client.get(f"{PATH}/{credential_id}", headers=bearer(self.api_key))


@pytest.fixture
def connect(client: Any, provider: OidcProvider, monkeypatch: pytest.MonkeyPatch) -> Connect:
    monkeypatch.setenv("VAULT_PUBLIC_BASE_URL", BASE)
    provider.reset()
    vault = get_vault()
    register_provider(vault, provider)
    return Connect(client, vault.keys.create("dev-1", "tests")[0], vault, provider)


def page_text(response: Any) -> str:
    """What the page says: the text of its <main>."""
    main = re.search(r"<main[^>]*>(.*)</main>", response.get_data(as_text=True), re.S)
    assert main is not None
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main.group(1))).strip()


def assert_page_headers(response: Any) -> None:
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    csp = response.headers["Content-Security-Policy"]
    assert csp.startswith("default-src 'none'; style-src 'sha256-") and "script" not in csp
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in csp


def test_the_whole_flow_stores_the_providers_tokens_and_returns_to_the_app(connect):
    session = connect.session(redirectUrl=APP)
    assert session["status"] == "pending"
    assert session["connectUrl"] == f"{BASE}/v1/vault/connect/{session['id']}"

    authorization = connect.open(session)
    sent = parse_qs(urlsplit(authorization).query)
    assert authorization.startswith(connect.provider.issuer + "/auth?")
    assert sent["redirect_uri"] == [CALLBACK_URL] and sent["response_type"] == ["code"]
    assert sent["code_challenge_method"] == ["S256"] and len(sent["code_challenge"][0]) == 43
    assert sent["state"][0].startswith(session["id"] + ".")
    answer = through_provider(authorization, CALLBACK_URL)
    response = connect.callback(answer)

    assert response.status_code == 302
    assert_page_headers_of_redirect(response)
    back = urlsplit(response.headers["Location"])
    query = parse_qs(back.query)
    assert f"{back.scheme}://{back.netloc}{back.path}" == "https://app.example/connected"
    assert query["tab"] == ["accounts"] and query["status"] == ["connected"]
    assert query["connectSessionId"] == [session["id"]]
    credential_id = query["credentialId"][0]
    assert answer["code"] not in response.headers["Location"]
    item = connect.credential(credential_id).get_json()
    assert item["principalId"] == "user-1" and item["service"] == "github"
    assert item["hasRefreshToken"] is True and item["tokenExpiresAt"] is not None
    assert connect.status(session["id"]) == {
        "id": session["id"],
        "principalId": "user-1",
        "service": "github",
        "status": "connected",
        "credentialId": credential_id,
        "error": None,
        "expiresAt": session["expiresAt"],
    }
    stored = connect.vault.credentials.get("dev-1", credential_id)
    assert stored is not None
    # The stored refresh token is the provider's own: the vault's refresh works on it.
    refreshed = connect.client.post(
        f"{PATH}/{credential_id}/refresh", headers=bearer(connect.api_key)
    )
    assert refreshed.status_code == 200
    assert refreshed.get_json()["status"] == "active"
    assert refreshed.get_json()["lastRefreshedAt"] is not None
    after = connect.vault.credentials.get("dev-1", credential_id)
    assert after is not None
    assert reveal(connect.vault, after, "accessToken") != reveal(
        connect.vault, stored, "accessToken"
    )
    assert connect.provider.stats()["byGrantType"] == {"authorization_code": 1, "refresh_token": 1}
    entries = [e for e in connect.vault.credentials.audit_entries("dev-1") if e.action == "connect"]
    assert [(e.credential_id, e.principal_id, e.service, e.outcome) for e in entries] == [
        (credential_id, "user-1", "github", "connected")
    ]
    assert entries[0].actor == connect.vault.connect_sessions.get(session["id"]).key_id


def assert_page_headers_of_redirect(response: Any) -> None:
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "Content-Security-Policy" in response.headers


def test_connecting_again_updates_the_same_credential(connect):
    first = connect.callback(connect.provider_answer(connect.session(redirectUrl=APP)))
    second = connect.callback(connect.provider_answer(connect.session(redirectUrl=APP)))

    first_id = parse_qs(urlsplit(first.headers["Location"]).query)["credentialId"]
    second_id = parse_qs(urlsplit(second.headers["Location"]).query)["credentialId"]
    assert first_id == second_id
    listed = connect.client.get(PATH, headers=bearer(connect.api_key)).get_json()
    assert len(listed["credentials"]) == 1


def test_without_a_redirect_url_the_result_is_a_page(connect):
    response = connect.callback(connect.provider_answer(connect.session()))

    assert response.status_code == 200
    assert_page_headers(response)
    assert page_text(response) == (
        "Account connected Your github account is connected. "
        "You can close this window and return to the app."
    )


def test_consent_denied_is_a_denied_session_and_nothing_stored(connect):
    session = connect.session(redirectUrl=APP)
    answer = connect.provider_answer(session, consent=False)
    assert answer["error"] == "access_denied"

    response = connect.callback(answer)

    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["status"] == ["denied"] and "credentialId" not in query
    status = connect.status(session["id"])
    assert status["status"] == "denied" and status["error"] == "access_denied"
    assert connect.client.get(PATH, headers=bearer(connect.api_key)).get_json()["credentials"] == []
    entries = connect.vault.credentials.audit_entries("dev-1")
    outcomes = [e.outcome for e in entries if e.action == "connect"]
    assert outcomes == ["denied error=access_denied"]


def test_consent_denied_without_a_redirect_url_is_a_page(connect):
    response = connect.callback(connect.provider_answer(connect.session(), consent=False))

    assert response.status_code == 200
    assert_page_headers(response)
    assert "Connection cancelled" in page_text(response)


def test_a_reused_state_is_a_400_page_and_the_code_is_not_redeemed_again(connect):
    answer = connect.provider_answer(connect.session())
    assert connect.callback(answer).status_code == 200
    requests_before = connect.provider.stats()["tokenRequests"]

    again = connect.callback(answer)

    assert again.status_code == 400
    assert_page_headers(again)
    assert "Sign-in response not accepted" in page_text(again)
    assert connect.provider.stats()["tokenRequests"] == requests_before


def test_a_state_from_another_session_is_refused_and_spends_neither(connect):
    first, second = connect.session(), connect.session()
    answer = connect.provider_answer(first)
    second_state = parse_qs(urlsplit(connect.open(second)).query)["state"][0]
    first_secret = answer["state"].split(".", 1)[1]

    crossed = connect.callback({"code": answer["code"], "state": f"{second['id']}.{first_secret}"})
    with_other_state = connect.callback({"code": answer["code"], "state": second_state})

    assert crossed.status_code == 400 and "not accepted" in page_text(crossed)
    assert connect.status(first["id"])["status"] == "pending"
    # The second session's own state is genuine; the code is the first session's, so
    # the provider refuses it (it was issued for another PKCE challenge).
    assert with_other_state.status_code == 400 and "Connection failed" in page_text(
        with_other_state
    )
    assert connect.status(second["id"])["error"] == "invalid_grant"
    assert connect.callback(answer).status_code == 200  # the first is still good
    assert connect.status(first["id"])["status"] == "connected"


def test_unknown_and_malformed_states_are_400_pages(connect):
    session = connect.session()
    connect.open(session)
    for state in ("nonsense", session["id"], session["id"] + "." + "A" * 43, "cs_x.y" * 3):
        response = connect.callback({"state": state, "code": "abc"})

        assert response.status_code == 400
        assert_page_headers(response)
    assert connect.provider.stats()["tokenRequests"] == 0


def expire(vault: Vault, session_id: str) -> None:
    stored = vault.connect_sessions.get(session_id)
    assert stored is not None
    assert vault.connect_sessions.replace(stored, replace(stored, expires_at=now_micros() - 1))


def test_an_expired_session_cannot_be_opened_or_finished(connect):
    never_opened, opened = connect.session(), connect.session()
    answer = connect.provider_answer(opened)
    expire(connect.vault, never_opened["id"])
    expire(connect.vault, opened["id"])

    late_open = connect.client.get(urlsplit(never_opened["connectUrl"]).path)
    late_callback = connect.callback(answer)

    assert late_open.status_code == 400 and "Link expired" in page_text(late_open)
    assert late_callback.status_code == 400 and "Link expired" in page_text(late_callback)
    assert connect.status(never_opened["id"])["status"] == "expired"
    assert connect.status(opened["id"])["status"] == "expired"
    assert connect.provider.stats()["tokenRequests"] == 0


def test_a_tampered_pkce_verifier_is_refused_by_the_provider(connect):
    session = connect.session(redirectUrl=APP)
    answer = connect.provider_answer(session)
    stored = connect.vault.connect_sessions.get(session["id"])
    assert stored is not None
    forged = connect.vault.envelope.seal(
        verifier_binding("dev-1", session["id"]), {VERIFIER_FIELD: b"x" * 86}
    )[VERIFIER_FIELD]
    assert connect.vault.connect_sessions.replace(stored, replace(stored, sealed_verifier=forged))

    response = connect.callback(answer)

    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query)["status"] == ["failed"]
    assert connect.status(session["id"])["error"] == "invalid_grant"
    assert connect.provider.stats()["errors"] == {"invalid_grant": 1}
    assert connect.client.get(PATH, headers=bearer(connect.api_key)).get_json()["credentials"] == []


def test_a_replayed_code_is_refused(connect):
    first = connect.provider_answer(connect.session())
    assert connect.callback(first).status_code == 200
    second = connect.session(redirectUrl=APP)
    second_state = parse_qs(urlsplit(connect.open(second)).query)["state"][0]

    replayed = connect.callback({"code": first["code"], "state": second_state})

    assert replayed.status_code == 302
    assert parse_qs(urlsplit(replayed.headers["Location"]).query)["status"] == ["failed"]
    assert connect.status(second["id"])["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "query",
    [{}, {"code": "abc"}, {"error": "access_denied"}, {"state": "s"}, {"state": "", "code": ""}],
)
def test_missing_parameters_are_a_400_page(connect, query):
    response = connect.callback(query)

    assert response.status_code == 400
    assert_page_headers(response)
    assert "missing required parameters" in page_text(response)


def test_a_genuine_state_without_a_code_is_refused_but_not_spent(connect):
    session = connect.session()
    answer = connect.provider_answer(session)

    assert connect.callback({"state": answer["state"]}).status_code == 400
    assert connect.callback(answer).status_code == 200


@pytest.mark.parametrize("name", ["state", "code", "error", "error_description", "iss", "x"])
def test_hostile_query_values_are_reflected_nowhere(connect, name, capfd):
    session = connect.session(redirectUrl=APP)
    answer = connect.provider_answer(session)
    query = {**answer, name: HOSTILE}
    capfd.readouterr()

    response = connect.callback(query)

    out = capfd.readouterr().out
    shown = response.get_data(as_text=True) + repr(list(response.headers))
    for form in (HOSTILE, html.escape(HOSTILE), "alert(1)"):
        assert form not in shown and form not in out
    assert response.status_code in (200, 302, 400)
    if name == "error":
        # A genuine state with an unknown error code: failed, with a safe code kept.
        assert connect.status(session["id"])["error"] == "invalid_response"


@pytest.mark.parametrize(
    "session_id", [HOSTILE.replace("/", ""), "cs_" + "a" * 32, "..", "x" * 128]
)
def test_hostile_or_unknown_session_links_are_404_pages(connect, session_id, capfd):
    capfd.readouterr()
    response = connect.client.get("/v1/vault/connect/" + session_id)

    assert response.status_code == 404
    assert_page_headers(response)
    assert "Link not found" in page_text(response)
    assert session_id not in response.get_data(as_text=True)


def test_opening_a_link_twice_is_a_409_page_and_the_first_still_works(connect):
    session = connect.session()
    authorization = connect.open(session)

    again = connect.client.get(urlsplit(session["connectUrl"]).path)

    assert again.status_code == 409
    assert_page_headers(again)
    assert "already been opened" in page_text(again)
    response = connect.callback(through_provider(authorization, CALLBACK_URL))
    assert response.status_code == 200


def test_the_provider_down_is_a_503_page_and_a_reload_then_connects(connect):
    session = connect.session(redirectUrl=APP)
    answer = connect.provider_answer(session)
    connect.provider.control(tokenStatus=503)

    down = connect.callback(answer)

    assert down.status_code == 503 and down.headers["Retry-After"] == "5"
    assert_page_headers(down)
    assert "Try again in a moment" in page_text(down)
    assert connect.status(session["id"])["status"] == "pending"
    connect.provider.control(tokenStatus=None)
    reloaded = connect.callback(answer)
    assert parse_qs(urlsplit(reloaded.headers["Location"]).query)["status"] == ["connected"]


def test_an_unreachable_token_endpoint_is_a_503_page(connect):
    from tests.support.firestore_emulator import free_port

    register_provider(
        connect.vault, connect.provider, token_url=f"http://127.0.0.1:{free_port()}/t"
    )
    answer = connect.provider_answer(connect.session())

    response = connect.callback(answer)

    assert response.status_code == 503
    assert_page_headers(response)


def test_create_needs_a_provider_and_valid_fields(connect):
    no_provider = connect.create(service="gitlab")
    assert no_provider.status_code == 400
    cases = {
        "principalId": {"principalId": ""},
        "service": {"service": "no spaces"},
        "scopes": {"scopes": "openid"},
        "redirectUrl": {"redirectUrl": "http://evil.example/"},
        "expiresInSeconds": {"expiresInSeconds": 59},
    }
    for field, fields in cases.items():
        response = connect.create(**fields)
        assert response.status_code == 400
        assert [detail["field"] for detail in response.get_json()["details"]] == [field]
    for url in ("javascript:alert(1)", "https://u:p@app.example/", "https://app.example/#x"):
        assert connect.create(redirectUrl=url).status_code == 400


def test_sessions_are_confined_to_their_developer(connect):
    session = connect.session()
    other = connect.vault.keys.create("dev-2", "other")[0]

    theirs = connect.client.get(f"{SESSIONS_PATH}/{session['id']}", headers=bearer(other))
    unknown = connect.client.get(f"{SESSIONS_PATH}/cs_{'b' * 32}", headers=bearer(connect.api_key))
    anonymous = connect.client.get(f"{SESSIONS_PATH}/{session['id']}")

    assert theirs.status_code == 404 and unknown.status_code == 404
    assert anonymous.status_code == 401


def test_no_secret_of_the_flow_reaches_a_log_line(connect, capfd):
    capfd.readouterr()
    session = connect.session()
    authorization = connect.open(session)
    answer = through_provider(authorization, CALLBACK_URL)
    connect.callback(answer)
    connect.callback(answer)  # and a reuse
    out = capfd.readouterr().out

    stored = connect.vault.credentials.get("dev-1", connect.status(session["id"])["credentialId"])
    assert stored is not None
    secrets_of_the_flow = {
        answer["code"],
        answer["state"],
        answer["state"].split(".", 1)[1],
        parse_qs(urlsplit(authorization).query)["code_challenge"][0],
        reveal(connect.vault, stored, "accessToken"),
        reveal(connect.vault, stored, "refreshToken"),
        connect.api_key,
    }
    assert "/v1/vault/oauth/callback" in out
    for secret in secrets_of_the_flow:
        assert secret and secret not in out


def raw_session(vault: Vault, session_id: str) -> str:
    """Everything the store holds for the session, as text."""
    store: Any = vault.connect_sessions
    if os.environ["VAULT_BACKEND"] == "gcp":
        document = store._sessions.document(session_id).get().to_dict()
        assert isinstance(document["expiresAt"], datetime)  # the TTL policy's field
        return repr(document)
    rows = store._db.query("SELECT * FROM connect_sessions WHERE id = ?", (session_id,))
    return repr([tuple(row) for row in rows])


def test_the_store_holds_a_digest_of_the_state_and_a_sealed_verifier(connect):
    session = connect.session()
    state = parse_qs(urlsplit(connect.open(session)).query)["state"][0]
    secret = state.split(".", 1)[1]

    held = raw_session(connect.vault, session["id"])

    assert secret not in held and state not in held
    stored = connect.vault.connect_sessions.get(session["id"])
    assert stored is not None and stored.state_digest == hashlib.sha256(secret.encode()).hexdigest()
    assert stored.sealed_verifier is not None and stored.sealed_verifier[0] == 1  # envelope v1


@pytest.mark.parametrize(
    "path", [SESSIONS_PATH, SESSIONS_PATH + "/cs_" + "a" * 32, "/v1/vault/connect/x", CALLBACK_PATH]
)
def test_head_and_options_on_the_connect_paths_and_no_cors(connect, path):
    for method in ("HEAD", "OPTIONS", "PATCH"):
        response = connect.client.open(
            path, method=method, headers={"Origin": "https://evil.example"}
        )

        assert response.status_code < 500
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert not [n for n, _ in response.headers if n.lower().startswith("access-control")]
