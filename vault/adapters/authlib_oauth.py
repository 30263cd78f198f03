"""The OAuth client port on authlib over httpx: the refresh-token grant, RFC 7009
revocation, and RFC 8414 / OpenID discovery.

Every call has the deadline ``VAULT_RPC_TIMEOUT_SECONDS`` (httpx's connect, read and
write timeouts), follows no redirect, and stops authlib's and httpx's errors here:
an OAuth error body becomes ``ProviderRefused(code)``; a network error, a timeout, a
5xx, ``temporarily_unavailable`` / ``server_error`` or a body that is not a JSON object
becomes ``ProviderUnreachable``. Exception texts are never passed on: they can hold a
URL with a token in it.

authlib and httpx are imported on first use, never on the store path.
"""

from __future__ import annotations

import warnings
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from vault.oauth.ports import ClientConfig, ProviderRefused, ProviderUnreachable, TokenSet

_TRANSIENT_ERRORS = frozenset({"temporarily_unavailable", "server_error"})
_MAX_EXPIRES_IN = 10 * 365 * 86_400


def _client(config: ClientConfig, timeout: float) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # authlib's httpx2 notice
        from authlib.integrations.httpx_client import OAuth2Client

    return OAuth2Client(
        client_id=config.client_id,
        client_secret=config.client_secret,
        token_endpoint_auth_method=config.token_auth_method,
        revocation_endpoint_auth_method=config.token_auth_method,
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )


def _expires_in(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        seconds = int(value)
    except ValueError:
        return None
    return seconds if 0 <= seconds <= _MAX_EXPIRES_IN else None


class AuthlibOAuthClient:
    def __init__(self, timeout: float) -> None:
        self._timeout = timeout

    def refresh(self, config: ClientConfig, refresh_token: str) -> TokenSet:
        with _client(config, self._timeout) as client, _translated():
            token = client.refresh_token(config.token_url, refresh_token=refresh_token)
        access_token = token.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise ProviderUnreachable("no_access_token")
        rotated = token.get("refresh_token")
        # authlib puts the old refresh token back when none came: that is no rotation.
        if not isinstance(rotated, str) or not rotated or rotated == refresh_token:
            rotated = None
        return TokenSet(access_token, rotated, _expires_in(token.get("expires_in")))

    def revoke(self, config: ClientConfig, token: str, hint: str) -> None:
        if config.revocation_url is None:
            return
        with _client(config, self._timeout) as client, _translated():
            response = client.revoke_token(config.revocation_url, token=token, token_type_hint=hint)
        if response.status_code >= 500 or response.status_code == 429:
            raise ProviderUnreachable(f"revocation_http_{response.status_code}")
        if response.status_code != 200:
            raise ProviderRefused(_error_code(response))

    def discover(self, issuer: str) -> dict[str, object]:
        import httpx

        for url in _metadata_urls(issuer):
            try:
                response = httpx.get(
                    url, timeout=self._timeout, follow_redirects=False, trust_env=False
                )
            except httpx.HTTPError:
                raise ProviderUnreachable("discovery_unreachable") from None
            if response.status_code != 200:
                continue
            try:
                document = response.json()
            except ValueError:
                continue
            if isinstance(document, dict) and document.get("issuer") == issuer:
                return document
        raise ProviderRefused("discovery_failed")


def _metadata_urls(issuer: str) -> list[str]:
    """RFC 8414 inserts the well-known path before the issuer's path; OpenID Connect
    Discovery appends it."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    return [
        urlunsplit(
            (parts.scheme, parts.netloc, "/.well-known/oauth-authorization-server" + path, "", "")
        ),
        urlunsplit(
            (parts.scheme, parts.netloc, "/.well-known/openid-configuration" + path, "", "")
        ),
        issuer.rstrip("/") + "/.well-known/openid-configuration",
    ]


def _error_code(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"http_{response.status_code}"
    code = body.get("error") if isinstance(body, dict) else None
    return code if isinstance(code, str) and code.isascii() and len(code) <= 64 else "unknown"


class _translated:
    """Turn authlib's and httpx's exceptions into the port's two (without their text)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: Any, trace: Any) -> None:
        if error is None:
            return
        import httpx
        from authlib.common.errors import AuthlibBaseError

        if isinstance(error, AuthlibBaseError):
            code = str(getattr(error, "error", "") or "unknown")
            if code in _TRANSIENT_ERRORS:
                raise ProviderUnreachable(code) from None
            if not code.isascii() or len(code) > 64:
                code = "unknown"
            raise ProviderRefused(code) from None
        if isinstance(error, httpx.HTTPStatusError):
            raise ProviderUnreachable(f"http_{error.response.status_code}") from None
        if isinstance(error, httpx.TimeoutException):
            raise ProviderUnreachable("timeout") from None
        if isinstance(error, httpx.HTTPError | ValueError | OSError):
            raise ProviderUnreachable() from None
