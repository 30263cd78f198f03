"""Connect sessions, the use cases: make one (API key), open it (the end user's
browser, sent on to the provider), finish it (the provider's redirect back).

Each step is one compare-and-set on the session, so a link opened twice, a ``state``
used twice or a code replayed lose to the first use. The state is spent *before* the
code is redeemed; when the provider cannot be reached the spend is undone (nothing was
redeemed), so the user may simply reload. The tokens are stored as an ordinary upsert
on (developer, principal, service), audited as ``connect``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import Protocol

from vault import logs
from vault.envelope import EnvelopeCipher
from vault.errors import BadRequest, DependencyUnavailable, NotFound
from vault.models import StoreCredentialRequest
from vault.oauth.connect_client import (
    AuthorizationRefused,
    ConnectProvider,
    authorization_url,
    oauth_error_code,
    redeem_code,
)
from vault.oauth.connect_models import CreateConnectSessionRequest
from vault.oauth.connect_sessions import (
    FINAL,
    VERIFIER_FIELD,
    ConnectSession,
    ConnectSessionStore,
    is_session_id,
    new_session_id,
    new_state,
    split_state,
    state_matches,
    verifier_binding,
)
from vault.oauth.providers import ProviderService
from vault.ports import ApiKeyRecord, AuditEntry, CredentialStore
from vault.service import VaultService, new_audit_id
from vault.timefmt import format_micros, now_micros

CALLBACK_PATH = "/v1/vault/oauth/callback"


class ConnectProviders(Protocol):
    def for_connect(
        self, developer_id: str, service: str, *, secret: bool = False
    ) -> ConnectProvider | None:
        """The service's provider, or None when the developer has none with an
        ``authorizationUrl``. With ``secret`` its client secret is opened (memory only;
        a KMS call), which only the code redemption needs."""
        ...


class StoredConnectProviders:
    """The registered providers (``PUT /v1/vault/providers/{service}``), seen as connect
    needs them."""

    def __init__(self, providers: ProviderService) -> None:
        self._providers = providers

    def for_connect(
        self, developer_id: str, service: str, *, secret: bool = False
    ) -> ConnectProvider | None:
        record = self._providers.directory.find(developer_id, service)
        if record is None or record.authorization_url is None:
            return None
        client_secret = None
        if secret:
            client_secret = self._providers.client_config(record).client_secret
        return ConnectProvider(
            authorization_url=record.authorization_url,
            token_url=record.token_url,
            client_id=record.client_id,
            client_secret=client_secret,
            token_auth_method=record.token_auth_method,
            scopes=record.scopes,
        )


class PageError(Exception):
    """A browser step that ends on one of our pages: ``kind`` names the page."""

    def __init__(self, status: int, kind: str, retry_after: int | None = None) -> None:
        super().__init__(kind)
        self.status = status
        self.kind = kind
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Finished:
    session: ConnectSession

    @property
    def status(self) -> str:
        return self.session.status


class ConnectService:
    def __init__(
        self,
        sessions: ConnectSessionStore,
        providers: ConnectProviders,
        envelope: EnvelopeCipher,
        vault_service: VaultService,
        credentials: CredentialStore,
        timeout: float,
    ) -> None:
        self._sessions = sessions
        self.providers = providers
        self._envelope = envelope
        self._vault_service = vault_service
        self._credentials = credentials
        self._timeout = timeout

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
        sealed = self._envelope.seal(
            verifier_binding(session.developer_id, session.session_id),
            {VERIFIER_FIELD: verifier.encode("ascii")},
        )[VERIFIER_FIELD]
        opened = replace(session, state_digest=digest, sealed_verifier=sealed, opened_at=now)
        if not self._sessions.replace(session, opened):
            raise PageError(409, "opened")
        return authorization_url(provider, redirect_uri, session.scopes, state, verifier)

    def callback(self, query: dict[str, str], redirect_uri: str, request_id: str) -> Finished:
        state = query.get("state")
        code = query.get("code")
        error = query.get("error")
        if not state or (not code and not error):
            raise PageError(400, "missing")
        parts = split_state(state)
        session = self._sessions.get(parts[0]) if parts else None
        if parts is None or session is None or not state_matches(session, parts[1]):
            raise PageError(400, "state")
        now = now_micros()
        if session.redeemed_at is not None or session.status in FINAL:
            raise PageError(400, "state")  # used: the same page as unknown, no oracle
        if session.status_at(now) == "expired":
            raise PageError(400, "expired")
        claimed = replace(session, redeemed_at=now)
        if not self._sessions.replace(session, claimed):
            raise PageError(400, "state")  # another callback took it first
        claimed = self._reread(claimed)
        if error:
            status = "denied" if error == "access_denied" else "failed"
            return self._finish(claimed, status, oauth_error_code(error), None, request_id)
        assert code is not None
        return self._redeem(claimed, code, redirect_uri, request_id)

    def _redeem(
        self,
        claimed: ConnectSession,
        code: str,
        redirect_uri: str,
        request_id: str,
    ) -> Finished:
        provider = self.providers.for_connect(claimed.developer_id, claimed.service, secret=True)
        if provider is None or claimed.sealed_verifier is None:
            return self._finish(claimed, "failed", "no_provider", None, request_id)
        verifier = self._envelope.open(
            verifier_binding(claimed.developer_id, claimed.session_id),
            VERIFIER_FIELD,
            claimed.sealed_verifier,
        ).decode("ascii")
        try:
            tokens = redeem_code(provider, redirect_uri, code, verifier, self._timeout)
        except AuthorizationRefused as refused:
            return self._finish(claimed, "failed", refused.error, None, request_id)
        except DependencyUnavailable:
            # Nothing was redeemed: give the state back, so a reload can try again.
            restored = replace(claimed, redeemed_at=None)
            if not self._sessions.replace(claimed, restored):
                logs.emit(
                    "WARNING", "connect session changed during an outage", requestId=request_id
                )
            raise PageError(503, "unavailable", retry_after=5) from None
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
        except ValueError:
            return self._finish(claimed, "failed", "invalid_response", None, request_id)
        try:
            stored = self._vault_service.store_as(
                claimed.developer_id, claimed.key_id, "connect", request, request_id
            )
        except DependencyUnavailable:
            # The code is spent and the tokens could not be kept: the session failed.
            failed = replace(claimed, status="failed", error="vault_unavailable")
            if not self._sessions.replace(claimed, failed):
                logs.emit(
                    "WARNING", "connect session changed during an outage", requestId=request_id
                )
            raise PageError(503, "unavailable", retry_after=5) from None
        return self._finish(claimed, "connected", None, stored.credential_id, request_id)

    def _finish(
        self,
        claimed: ConnectSession,
        status: str,
        error: str | None,
        credential_id: str | None,
        request_id: str,
    ) -> Finished:
        final = replace(claimed, status=status, error=error, credential_id=credential_id)  # type: ignore[arg-type]
        if not self._sessions.replace(claimed, final):
            raise PageError(400, "state")
        if status != "connected":
            # A connected session's audit entry came with the store, in its commit.
            self._credentials.record(self._audit(final, request_id))
        return Finished(final)

    def _reread(self, claimed: ConnectSession) -> ConnectSession:
        stored = self._sessions.get(claimed.session_id)
        if stored is None or stored.redeemed_at != claimed.redeemed_at:
            raise PageError(400, "state")
        return stored

    @staticmethod
    def _audit(session: ConnectSession, request_id: str) -> AuditEntry:
        outcome = (
            session.status if session.error is None else f"{session.status} error={session.error}"
        )
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
