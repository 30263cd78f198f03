"""panva's oidc-provider (tests/node/oidc-server.mjs) on a free loopback port.

``OidcProvider.start()`` runs it with node; ``tokens()`` drives the authorization-code
flow through its development interactions over HTTP (login, consent, code redemption
with authlib) and returns real tokens; ``stats()`` counts what reached its token
endpoint; ``control()`` makes that endpoint slow or unavailable.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
SERVER = NODE_DIR / "oidc-server.mjs"
CLIENT_ID = "vault-test"
CLIENT_SECRET = "vault-test-secret"  # the test server's fixed client
REDIRECT_URI = "http://127.0.0.1/callback"


def find_node() -> str | None:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "oidc-provider").is_dir():
        return None
    return node


@dataclass
class ObtainedTokens:
    access_token: str
    refresh_token: str | None
    expires_in: int | None


class OidcProvider:
    def __init__(self, process: subprocess.Popen[str], issuer: str, port: int) -> None:
        self.process = process
        self.issuer = issuer
        self.port = port
        self.events: list[dict[str, Any]] = []
        threading.Thread(target=self._read_events, daemon=True).start()

    @classmethod
    def start(cls, node: str, config: dict[str, Any] | None = None) -> OidcProvider:
        process = subprocess.Popen(
            [node, str(SERVER), json.dumps(config or {})],
            cwd=NODE_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "NODE_NO_WARNINGS": "1"},
        )
        assert process.stdout is not None
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()
        try:
            ready = json.loads(lines.get(timeout=30))
        except (queue.Empty, ValueError):
            process.kill()
            raise RuntimeError("oidc-server.mjs did not start") from None
        return cls(process, ready["issuer"], ready["port"])

    def _read_events(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                self.events.append(json.loads(line))
            except ValueError:
                continue

    @property
    def token_url(self) -> str:
        return self.issuer + "/token"

    @property
    def revocation_url(self) -> str:
        return self.issuer + "/token/revocation"

    def stats(self) -> dict[str, Any]:
        return dict(httpx.get(self.issuer + "/_test/stats", timeout=5).json())

    def refresh_requests(self) -> int:
        """Refresh-token grants the token endpoint processed (success or error)."""
        return int(self.stats()["refreshRequests"])

    def control(self, **settings: Any) -> None:
        httpx.post(self.issuer + "/_test/control", json=settings, timeout=5).raise_for_status()

    def reset(self) -> None:
        self.control(reset=True)
        self.events.clear()

    def tokens(self, login: str = "alice", scope: str = "openid offline_access") -> ObtainedTokens:
        """Real tokens, through login and consent as a browser would post them."""
        from authlib.integrations.httpx_client import OAuth2Client

        oauth = OAuth2Client(
            CLIENT_ID, CLIENT_SECRET, scope=scope, redirect_uri=REDIRECT_URI, timeout=10
        )
        url, _state = oauth.create_authorization_url(self.issuer + "/auth", prompt="consent")
        with httpx.Client(follow_redirects=False, timeout=10) as browser:
            location = url
            for _ in range(12):
                response = browser.get(location)
                if response.status_code in (302, 303):
                    location = urljoin(location, response.headers["location"])
                    if location.startswith(REDIRECT_URI):
                        break
                    continue
                # An interaction page: post its form (login first, then consent).
                action = re.search(r'action="([^"]+)"', response.text)
                assert action is not None, "no interaction form"
                fields = {"prompt": "consent"}
                if 'name="login"' in response.text:
                    fields = {"prompt": "login", "login": login, "password": "x"}
                submitted = browser.post(urljoin(location, action.group(1)), data=fields)
                location = urljoin(location, submitted.headers["location"])
            else:
                raise AssertionError("the authorization flow did not reach the redirect")
        code = parse_qs(urlsplit(location).query)["code"][0]
        token = oauth.fetch_token(self.token_url, code=code, grant_type="authorization_code")
        return ObtainedTokens(
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token"),
            expires_in=token.get("expires_in"),
        )

    def refresh_directly(self, refresh_token: str) -> httpx.Response:
        """The provider's own answer to a refresh token (does it still work?)."""
        return httpx.post(
            self.token_url,
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            auth=(CLIENT_ID, CLIENT_SECRET),
            timeout=10,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
