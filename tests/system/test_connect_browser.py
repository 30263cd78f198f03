"""The connect flow in a real browser: Debian's chromium, headless, driven by
Playwright for Python. The vault is served on loopback (both backends), the provider is
panva's oidc-provider; the browser opens ``connectUrl``, signs in and consents (or
cancels) on the provider's own pages, and lands on a page served by this test, or on
the vault's result page, which is screenshotted into the test's output directory."""

from __future__ import annotations

import http.server
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.conftest import UNDER_CI, start_oidc_provider
from tests.support.connect_flow import CALLBACK_PATH, SESSIONS_PATH, register_provider
from tests.support.firestore_emulator import free_port
from tests.support.http_app import PATH, bearer
from tests.support.issuer import TestIssuer
from tests.support.oidc_provider import OidcProvider
from tests.support.service_level import reveal
from vault.bootstrap import Vault, get_vault

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VAULT_PORT = free_port()  # fixed for the module: the provider registers its callback
VAULT_URL = f"http://127.0.0.1:{VAULT_PORT}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = (
            "\n\n*** DEBIAN'S CHROMIUM IS NOT INSTALLED (/usr/bin/chromium) ***\n"
            "Install the Debian package chromium; the connect flow is NOT being tested\n"
            "in a browser.\n"
        )
        if UNDER_CI:
            pytest.fail(message, pytrace=False)
        sys.stderr.write(message)
        pytest.skip("chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    server = start_oidc_provider({"redirectUris": [VAULT_URL + CALLBACK_PATH]})
    yield server
    server.stop()


class _Quiet(WSGIRequestHandler):
    def log(self, *args: Any) -> None:  # werkzeug's access log would print query strings
        pass


class _App(http.server.BaseHTTPRequestHandler):
    """The developer's app: the page the browser is sent back to."""

    def do_GET(self) -> None:  # the http.server hook
        body = b"<!doctype html><title>app</title><p id=app>back in the app</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class Served:
    vault: Vault
    api_key: str
    app_url: str
    provider: OidcProvider
    http: httpx.Client

    def session(self, **fields: Any) -> dict[str, Any]:
        response = self.http.post(
            SESSIONS_PATH,
            json={"principalId": "user-1", "service": "github", **fields},
            headers=bearer(self.api_key),
        )
        assert response.status_code == 201, response.text
        return dict(response.json())


@pytest.fixture
def served(backend_env: dict[str, str], provider: OidcProvider) -> Iterator[Served]:
    from functions_framework import create_app

    os.environ["VAULT_PUBLIC_BASE_URL"] = VAULT_URL
    provider.reset()
    app = create_app("vault", str(Path(__file__).resolve().parents[2] / "main.py"))
    server = make_server("127.0.0.1", VAULT_PORT, app, threaded=True, request_handler=_Quiet)
    developer_app = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _App)
    threads = [
        threading.Thread(target=server.serve_forever, daemon=True),
        threading.Thread(target=developer_app.serve_forever, daemon=True),
    ]
    for thread in threads:
        thread.start()
    vault = get_vault()
    register_provider(vault, provider)
    try:
        with httpx.Client(base_url=VAULT_URL, timeout=10) as client:
            yield Served(
                vault,
                vault.keys.create("dev-1", "browser")[0],
                f"http://127.0.0.1:{developer_app.server_address[1]}/done",
                provider,
                client,
            )
    finally:
        server.shutdown()
        developer_app.shutdown()
        developer_app.server_close()


@dataclass
class Trip:
    page: Any
    callback_queries: list[dict[str, str]]
    console: list[str]


def travel(browser: Any, connect_url: str, *, consent: bool) -> Trip:
    """Open the link, sign in at the provider, then consent or cancel."""
    context = browser.new_context(viewport={"width": 390, "height": 700})  # a phone
    page = context.new_page()
    trip = Trip(page, [], [])
    page.on("console", lambda message: trip.console.append(message.text))

    def seen(request: Any) -> None:
        if urlsplit(request.url).path == CALLBACK_PATH:
            query = parse_qs(urlsplit(request.url).query)
            trip.callback_queries.append({name: values[0] for name, values in query.items()})

    page.on("request", seen)
    page.goto(connect_url)
    page.fill("input[name=login]", "alice")
    page.fill("input[name=password]", "any")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Continue" if consent else "text=[ Cancel ]")
    if consent:
        page.click("text=Continue")
    else:
        page.click("text=[ Cancel ]")
    page.wait_for_load_state("load")
    return trip


def test_a_user_connects_in_the_browser_and_the_agent_gets_the_providers_token(
    browser, served, issuer: TestIssuer, capfd
):
    session = served.session(redirectUrl=served.app_url)
    capfd.readouterr()

    trip = travel(browser, session["connectUrl"], consent=True)

    trip.page.wait_for_selector("#app")
    landed = urlsplit(trip.page.url)
    query = {name: values[0] for name, values in parse_qs(landed.query).items()}
    assert trip.page.url.startswith(served.app_url + "?")
    assert query["status"] == "connected" and query["connectSessionId"] == session["id"]
    credential_id = query["credentialId"]
    item = served.http.get(f"{PATH}/{credential_id}", headers=bearer(served.api_key)).json()
    assert item["principalId"] == "user-1" and item["hasRefreshToken"] is True
    # The exact scope, and the older form that this branch still accepts.
    grant = issuer.mint(scp=["vault:github:exchange", "github:read"])
    released = served.http.post(
        PATH + "/exchange", json={"service": "github"}, headers=bearer(grant)
    )
    assert released.status_code == 200
    access_token = released.json()["accessToken"]
    stored = served.vault.credentials.get("dev-1", credential_id)
    assert stored is not None and access_token == reveal(served.vault, stored, "accessToken")
    # The provider's own token: its userinfo endpoint knows whom it belongs to.
    me = httpx.get(served.provider.issuer + "/me", headers=bearer(access_token), timeout=10)
    assert me.status_code == 200 and me.json()["sub"] == "alice"
    refresh_token = reveal(served.vault, stored, "refreshToken")
    assert refresh_token is not None
    # A refresh works on it: the vault trades the provider's refresh token for a new one.
    refreshed = served.http.post(f"{PATH}/{credential_id}/refresh", headers=bearer(served.api_key))
    assert refreshed.status_code == 200 and refreshed.json()["lastRefreshedAt"] is not None
    again = served.http.post(PATH + "/exchange", json={"service": "github"}, headers=bearer(grant))
    assert again.json()["accessToken"] not in (access_token, "")
    new_token = again.json()["accessToken"]
    me = httpx.get(served.provider.issuer + "/me", headers=bearer(new_token), timeout=10)
    assert me.status_code == 200 and me.json()["sub"] == "alice"
    out = capfd.readouterr().out
    [callback] = trip.callback_queries
    for secret in (callback["code"], callback["state"], access_token, refresh_token, new_token):
        assert secret not in out
    entries = served.vault.credentials.audit_entries("dev-1")
    assert [e.credential_id for e in entries if e.action == "connect"] == [credential_id]
    assert [e.action for e in entries if e.credential_id == credential_id] == [
        "connect",
        "exchange",
        "refresh",
        "exchange",
    ]


def test_the_result_page_in_the_browser(browser, served, tmp_path: Path):
    session = served.session()

    trip = travel(browser, session["connectUrl"], consent=True)

    page = trip.page
    assert urlsplit(page.url).path == CALLBACK_PATH
    assert page.inner_text("h1") == "Account connected"
    assert page.inner_text("main") == (
        "Account connected\n\nYour github account is connected.\n\n"
        "You can close this window and return to the app."
    )
    # The stylesheet applies (its hash is in the CSP) and nothing was blocked.
    color = page.eval_on_selector("main", "m => getComputedStyle(m).borderTopColor")
    assert color == "rgb(26, 127, 55)"
    assert not [line for line in trip.console if "Content Security Policy" in line]
    shot = tmp_path / "connect-result.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 1000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (
        served.http.get(f"{SESSIONS_PATH}/{session['id']}", headers=bearer(served.api_key)).json()[
            "status"
        ]
        == "connected"
    )


def test_consent_denied_in_the_browser(browser, served, tmp_path: Path):
    with_app = served.session(redirectUrl=served.app_url)
    alone = served.session()

    back = travel(browser, with_app["connectUrl"], consent=False)
    page = travel(browser, alone["connectUrl"], consent=False).page

    back.page.wait_for_selector("#app")
    assert parse_qs(urlsplit(back.page.url).query)["status"] == ["denied"]
    assert "credentialId" not in back.page.url
    assert page.inner_text("h1") == "Connection cancelled"
    page.screenshot(path=str(tmp_path / "connect-denied.png"))
    listed = served.http.get(PATH, headers=bearer(served.api_key)).json()
    assert listed["credentials"] == []
