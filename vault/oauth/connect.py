"""Connect sessions, the use cases: make one (API key), open it (the end user's
browser, sent on to the provider), finish it (the provider's redirect back).

Each step is one compare-and-set on the session, so a link opened twice, a ``state``
used twice or a code replayed lose to the first use. The state is spent *before* the
code is redeemed; when the provider cannot be reached the spend is undone (nothing was
redeemed), so the user may simply reload. The tokens are stored as an ordinary upsert
on (developer, principal, service), audited as ``connect``.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass, replace

from vault import logs
from vault.envelope import EnvelopeCipher
from vault.errors import BadRequest, DependencyUnavailable, NotFound, VaultError
from vault.models import StoreCredentialRequest
from vault.oauth.connect_client import (
    AuthorizationRefused,
    authorization_url,
    oauth_error_code,
    redeem_code,
)
from vault.oauth.connect_models import CreateConnectSessionRequest
from vault.oauth.connect_providers import ConnectProviders
from vault.oauth.connect_sessions import (
    FINAL,
    VERIFIER_FIELD,
    ConnectSession,
    ConnectSessionStore,
    Status,
    is_session_id,
    new_session_id,
    new_state,
    split_state,
    state_matches,
    verifier_binding,
)
from vault.ports import ApiKeyRecord, AuditEntry, CredentialStore
from vault.service import VaultService, new_audit_id
from vault.timefmt import format_micros, now_micros

CALLBACK_PATH = "/v1/vault/oauth/callback"
RETRY_AFTER_SECONDS = 5


class PageError(Exception):
    """A browser step that ends on one of our pages: ``kind`` names the page."""

    def __init__(self, status: int, kind: str, retry_after: int | None = None) -> None:
        super().__init__(kind)
        self.status = status
        self.kind = kind
        self.retry_after = retry_after


def _unavailable() -> PageError:
    return PageError(503, "unavailable", retry_after=RETRY_AFTER_SECONDS)


@dataclass(frozen=True, slots=True)
class Services:
    """What the connect use cases work with besides the sessions."""

    providers: ConnectProviders
    envelope: EnvelopeCipher
    credentials: VaultService  # the store, as ``POST /v1/vault/credentials`` does it
    audit: CredentialStore  # for the audit entry of a session that stored nothing
    timeout: float


class ConnectService:
    def __init__(self, sessions: ConnectSessionStore, services: Services) -> None:
        self._sessions = sessions
        self._services = services

    @property
    def providers(self) -> ConnectProviders:
        return self._services.providers

    def create(self, caller: ApiKeyRecord, request: CreateConnectSessionRequest) -> ConnectSession:
        provider = self.providers.for_connect(caller.developer_id, request.service)
        if provider is None:
            raise BadRequest(
                "the service needs a provider with an authorizationUrl",
                reason="no_connect_provider",
            )
        now = now_micros()
        session = ConnectSession(
            session_id=new_session_id(),
            developer_id=caller.developer_id,
            key_id=caller.key_id,
            principal_id=request.principal_id,
            service=request.service,
            scopes=request.scopes_or(provider.scopes),
            redirect_url=request.redirect_url,
            status="pending",
            created_at=now,
            expires_at=now + request.expires_in_seconds * 1_000_000,
        )
        self._sessions.create(session)
        return session

    def get(self, caller: ApiKeyRecord, session_id: str) -> ConnectSession:
        session = self._sessions.get(session_id) if is_session_id(session_id) else None
        if session is None or session.developer_id != caller.developer_id:
            raise NotFound("no such connect session")
        return session

    def open(self, session_id: str, redirect_uri: str) -> str:
        """The provider's authorization URL for this session, once."""
        session = self._sessions.get(session_id) if is_session_id(session_id) else None
        if session is None:
            raise PageError(404, "unknown")
        now = now_micros()
        if session.status_at(now) == "expired":
            raise PageError(400, "expired")
        if session.status in FINAL or session.state_digest is not None:
            raise PageError(409, "opened")
        provider = self.providers.for_connect(session.developer_id, session.service)
        if provider is None:
            raise PageError(400, "no_provider")
        state, digest = new_state(session.session_id)
        verifier = secrets.token_urlsafe(64)  # 86 characters, RFC 7636's 43-128
        sealed = self._services.envelope.seal(
            verifier_binding(session.developer_id, session.session_id),
            {VERIFIER_FIELD: verifier.encode("ascii")},
        )[VERIFIER_FIELD]
        opened = replace(session, state_digest=digest, sealed_verifier=sealed, opened_at=now)
        if self._sessions.replace(session, opened) is None:
            raise PageError(409, "opened")
        return authorization_url(provider, redirect_uri, session.scopes, state, verifier)

    def callback(self, query: dict[str, str], redirect_uri: str, request_id: str) -> ConnectSession:
        """The finished session (connected, denied or failed)."""
        state, code, error = query.get("state"), query.get("code"), query.get("error")
        if not state or (not code and not error):
            raise PageError(400, "missing")
        parts = split_state(state)
        session = self._sessions.get(parts[0]) if parts else None
        if parts is None or session is None or not state_matches(session, parts[1]):
            raise PageError(400, "state")
        now = now_micros()
        if session.redeemed_at is not None or session.status in FINAL:
            raise PageError(400, "state")  # spent: the same page as unknown, no oracle
        if session.status_at(now) == "expired":
            raise PageError(400, "expired")
        claimed = self._sessions.replace(session, replace(session, redeemed_at=now))
        if claimed is None:
            raise PageError(400, "state")  # another callback spent it first
        if error:
            status: Status = "denied" if error == "access_denied" else "failed"
            return self._finish(claimed, status, oauth_error_code(error), None, request_id)
        assert code is not None
        return self._redeem(claimed, code, redirect_uri, request_id)

    def _redeem(
        self, claimed: ConnectSession, code: str, redirect_uri: str, request_id: str
    ) -> ConnectSession:
        provider = self.providers.for_connect(claimed.developer_id, claimed.service, secret=True)
        if provider is None or claimed.sealed_verifier is None:
            return self._finish(claimed, "failed", "no_provider", None, request_id)
        verifier = self._services.envelope.open(
            verifier_binding(claimed.developer_id, claimed.session_id),
            VERIFIER_FIELD,
            claimed.sealed_verifier,
        ).decode("ascii")
        try:
            tokens = redeem_code(provider, redirect_uri, code, verifier, self._services.timeout)
        except AuthorizationRefused as refused:
            return self._finish(claimed, "failed", refused.error, None, request_id)
        except DependencyUnavailable:
            # Nothing was redeemed: give the state back, so a reload can try again.
            self._best_effort(claimed, replace(claimed, redeemed_at=None), request_id)
            raise _unavailable() from None
        body: dict[str, object] = {
            "principalId": claimed.principal_id,
            "service": claimed.service,
            "accessToken": tokens.access_token,
        }
        if tokens.refresh_token is not None:
            body["refreshToken"] = tokens.refresh_token
        if tokens.expires_in is not None:
            body["tokenExpiresAt"] = format_micros(now_micros() + tokens.expires_in * 1_000_000)
        try:
            request = StoreCredentialRequest.model_validate(body)
        except ValueError:  # a token longer than a store accepts
            return self._finish(claimed, "failed", "invalid_response", None, request_id)
        try:
            stored = self._services.credentials.store_as(
                claimed.developer_id,
                claimed.key_id,
                "connect",
                request,
                request_id,
                outcome="connected",
            )
        except DependencyUnavailable:
            # The code is spent and the tokens could not be kept: the session failed.
            failed = replace(claimed, status="failed", error="vault_unavailable")
            self._best_effort(claimed, failed, request_id)
            raise _unavailable() from None
        return self._finish(claimed, "connected", None, stored.credential_id, request_id)

    def _finish(
        self,
        claimed: ConnectSession,
        status: Status,
        error: str | None,
        credential_id: str | None,
        request_id: str,
    ) -> ConnectSession:
        final = replace(claimed, status=status, error=error, credential_id=credential_id)
        if self._sessions.replace(claimed, final) is None:
            raise PageError(400, "state")
        if status != "connected":
            # A connected session's audit entry came with the store, in its commit.
            self._services.audit.record(_audit(final, request_id))
        return final

    def _best_effort(self, before: ConnectSession, after: ConnectSession, request_id: str) -> None:
        """A write during an outage: the page says 503 whether or not it lands."""
        with contextlib.suppress(VaultError):
            if self._sessions.replace(before, after) is not None:
                return
        logs.emit("WARNING", "connect session not updated during an outage", requestId=request_id)


def _audit(session: ConnectSession, request_id: str) -> AuditEntry:
    outcome = session.status if session.error is None else f"{session.status} error={session.error}"
    return AuditEntry(
        entry_id=new_audit_id(),
        action="connect",
        developer_id=session.developer_id,
        actor=session.key_id,
        credential_id=session.credential_id,
        principal_id=session.principal_id,
        service=session.service,
        request_id=request_id,
        at=now_micros(),
        outcome=outcome,
    )
