"""The provider side of a connect session, through authlib: the authorization URL
(with ``state`` and the PKCE S256 challenge) and the one redemption of the code.

authlib and httpx are imported on first use: no store or exchange path needs them.
Errors are sorted at this boundary: the provider refused (``AuthorizationRefused``, with
its OAuth error code) or could not be reached (``DependencyUnavailable``). Neither
carries the code, the verifier or any token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from vault.errors import DependencyUnavailable

_UNAVAILABLE_ERRORS = frozenset({"temporarily_unavailable", "server_error"})
_SAFE_ERROR_CODE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz_0123456789")


@dataclass(frozen=True, slots=True)
class ConnectProvider:
    """What connecting to one service needs from its registered provider."""

    authorization_url: str
    token_url: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    token_auth_method: str = "client_secret_basic"  # noqa: S105 - a method's name
    scopes: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class RedeemedTokens:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_in: int | None
    scope: str | None


class AuthorizationRefused(Exception):
    """The provider refused the code (``invalid_grant``, ...)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def oauth_error_code(value: object) -> str:
    """A provider's error code as we show and store it: short, from a safe alphabet."""
    text = str(value or "").lower()[:64]
    return text if text and set(text) <= _SAFE_ERROR_CODE_CHARS else "invalid_response"


def authorization_url(
    provider: ConnectProvider,
    redirect_uri: str,
    scopes: Sequence[str],
    state: str,
    code_verifier: str,
) -> str:
    from authlib.oauth2.client import OAuth2Client

    client = OAuth2Client(
        None,
        client_id=provider.client_id,
        redirect_uri=redirect_uri,
        scope=" ".join(scopes) or None,
        code_challenge_method="S256",
    )
    url, _ = client.create_authorization_url(
        provider.authorization_url, state=state, code_verifier=code_verifier
    )
    return str(url)


def redeem_code(
    provider: ConnectProvider,
    redirect_uri: str,
    code: str,
    code_verifier: str,
    timeout: float,
) -> RedeemedTokens:
    import httpx
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.httpx_client import OAuth2Client

    client = OAuth2Client(
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        token_endpoint_auth_method=provider.token_auth_method,
        redirect_uri=redirect_uri,
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )
    try:
        with client:
            token = client.fetch_token(
                provider.token_url,
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
            )
    except OAuthError as error:
        code_name = oauth_error_code(error.error)
        if code_name in _UNAVAILABLE_ERRORS:
            raise DependencyUnavailable(reason="provider_unavailable") from None
        raise AuthorizationRefused(code_name) from None
    except (httpx.HTTPError, ValueError):
        # Unreachable, timed out, or a body that is not a token response (a proxy's 502).
        raise DependencyUnavailable(reason="provider_unavailable") from None
    access_token = token.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise AuthorizationRefused("invalid_response")
    refresh_token = token.get("refresh_token")
    expires_in = token.get("expires_in")
    scope = token.get("scope")
    return RedeemedTokens(
        access_token=access_token,
        refresh_token=refresh_token if isinstance(refresh_token, str) and refresh_token else None,
        expires_in=int(expires_in)
        if isinstance(expires_in, int | float) and not isinstance(expires_in, bool)
        else None,
        scope=scope if isinstance(scope, str) else None,
    )
