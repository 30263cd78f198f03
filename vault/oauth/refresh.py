"""Refresh before release, one refresh per credential at a time across all instances.

``ensure_fresh`` is the exchange's hook. It costs nothing on a warm exchange: without a
refresh token or an expiry, or with an expiry further off than any leeway can reach
(an hour, or ``minValiditySeconds``), it decides from the record alone. Only closer to
the expiry does it look the provider up (cached per instance).

Single flight: the instance that wins ``begin_refresh`` (a conditional write on the
version it read: Firestore's update_time precondition; SQLite's one UPDATE under the
writer lock) holds a lease until ``VAULT_REFRESH_LEASE_SECONDS``. The others poll the
record for up to ``VAULT_REFRESH_WAIT_SECONDS`` and release what the holder stored; a
lease whose holder died runs out, and the next poller takes it over. The holder's
result is written only while its lease is still the record's (``finish_refresh``), so
a store made meanwhile is never overwritten by an older refresh.
"""

from __future__ import annotations

import secrets
import socket
import time
from dataclasses import replace

from vault import logs
from vault.envelope import EnvelopeCipher
from vault.errors import CredentialExpired, DependencyUnavailable, IntegrityError
from vault.ids import credential_id, record_binding
from vault.oauth.ports import (
    MAX_LEEWAY_SECONDS,
    OAuthClient,
    ProviderRecord,
    ProviderRefused,
    ProviderUnreachable,
)
from vault.oauth.providers import ProviderService
from vault.oauth.status import ACTIVE, NEEDS_REAUTH, effective_status, error_at, error_json
from vault.ports import KEEP, AuditEntry, CredentialStore, RefreshCommit, StoredCredential
from vault.service import ACCESS_TOKEN, REFRESH_TOKEN, new_audit_id
from vault.timefmt import format_micros, now_micros

_POLL_SECONDS = 0.1
_SECOND = 1_000_000


class Refresher:
    def __init__(
        self,
        store: CredentialStore,
        envelope: EnvelopeCipher,
        providers: ProviderService,
        oauth: OAuthClient,
        lease_seconds: float,
        wait_seconds: float,
    ) -> None:
        self._store = store
        self._envelope = envelope
        self._providers = providers
        self._oauth = oauth
        self._lease = int(lease_seconds * _SECOND)
        self._wait = wait_seconds
        self._instance = f"{socket.gethostname()[:40]}:{secrets.token_hex(4)}"

    def status_of(self, stored: StoredCredential, now: int) -> str:
        """The API's status; a provider lookup (cached) only for a lapsed token that a
        refresh token might still revive."""
        refreshable = False
        expires = stored.token_expires_at
        if (
            stored.status != NEEDS_REAUTH
            and stored.refresh_token is not None
            and expires is not None
            and expires <= now
        ):
            found = self._providers.directory.find(stored.developer_id, stored.service)
            refreshable = found is not None
        return effective_status(stored, now, refreshable)

    def ensure_fresh(
        self, developer_id: str, stored: StoredCredential, min_validity: int, request_id: str
    ) -> StoredCredential:
        """The record to release: refreshed first when due. Raises CredentialExpired (a
        dead token, not refreshable) or DependencyUnavailable (refresh needed, provider
        unreachable)."""
        now = now_micros()
        expires = stored.token_expires_at
        if expires is None:
            return stored
        reach = max(MAX_LEEWAY_SECONDS, min_validity) * _SECOND
        if stored.refresh_token is None or expires - now > reach:
            return self._verdict(stored, now, refreshable=False)
        provider = self._providers.directory.find(developer_id, stored.service)
        if provider is None:
            return self._verdict(stored, now, refreshable=False)
        window = max(provider.refresh_leeway_seconds, min_validity) * _SECOND
        if expires - now > window or stored.status == NEEDS_REAUTH:
            return self._verdict(stored, now, refreshable=True)
        return self._single_flight(stored, provider, window, request_id)

    def refresh_now(self, stored: StoredCredential, request_id: str) -> StoredCredential:
        """A forced refresh (``POST .../refresh``): due whatever the expiry."""
        provider = self._providers.directory.find(stored.developer_id, stored.service)
        if provider is None or stored.refresh_token is None:
            from vault.errors import BadRequest

            raise BadRequest("the credential has no refresh token or its service no provider")
        return self._single_flight(stored, provider, None, request_id)

    def refresh_if_due(self, stored: StoredCredential, within_seconds: int) -> str:
        """For ``refresh-due``: ``refreshed``, ``needs_reauth``, ``failed`` or ``skipped``
        (no refresh token, no provider, or not due after all)."""
        provider = None
        if stored.refresh_token is not None:
            provider = self._providers.directory.find(stored.developer_id, stored.service)
        if provider is None:
            return "skipped"
        if stored.status == NEEDS_REAUTH:
            return NEEDS_REAUTH
        started = now_micros()
        window = max(provider.refresh_leeway_seconds, within_seconds) * _SECOND
        request_id = "refresh-due-" + secrets.token_hex(6)
        try:
            result = self._single_flight(stored, provider, window, request_id)
        except CredentialExpired as expired:
            return NEEDS_REAUTH if expired.extra_body.get("status") == NEEDS_REAUTH else "failed"
        except (DependencyUnavailable, IntegrityError):
            return "failed"
        if result.status == NEEDS_REAUTH:
            return NEEDS_REAUTH
        if (result.last_refreshed_at or 0) >= started:
            return "refreshed"
        return "failed" if error_at(result) >= started else "skipped"

    def _verdict(self, stored: StoredCredential, now: int, refreshable: bool) -> StoredCredential:
        expires = stored.token_expires_at
        if expires is not None and expires <= now:
            expired = CredentialExpired()
            expired.extra_body["tokenExpiresAt"] = format_micros(expires)
            expired.extra_body["status"] = effective_status(stored, now, refreshable=False)
            raise expired
        return stored

    def _due(self, stored: StoredCredential, window: int | None, started: int) -> bool:
        if window is None:  # forced: done once anyone refreshed since we started
            return (stored.last_refreshed_at or 0) < started
        expires = stored.token_expires_at
        return expires is not None and expires - now_micros() <= window

    def _single_flight(
        self,
        stored: StoredCredential,
        provider: ProviderRecord,
        window: int | None,
        request_id: str,
    ) -> StoredCredential:
        """``window`` None: a forced refresh, which answers with the record even when the
        provider refused (the caller shows ``needs_reauth``) and is 503 whenever the
        provider cannot be reached."""
        if credential_id(stored.developer_id, stored.principal_id, stored.service) != (
            stored.credential_id
        ):
            return stored  # a record copied under another id: the caller refuses it
        started = now_micros()
        deadline = time.monotonic() + self._wait
        holder = f"{self._instance}:{secrets.token_hex(4)}"
        current = stored
        while True:
            now = now_micros()
            # A live lease of another holder: no write, just wait (SQLite would take the
            # writer lock for nothing, Firestore would spend a commit).
            if current.lease_until is None or current.lease_until <= now:
                revision = self._store.begin_refresh(current, holder, now, now + self._lease)
                if revision is not None:
                    return self._refresh_holding(
                        current, provider, holder, revision, request_id, forced=window is None
                    )
            time.sleep(_POLL_SECONDS)
            latest = self._store.get(current.developer_id, current.credential_id)
            if latest is None:
                return self._verdict(current, now_micros(), refreshable=True)
            current = latest
            if not self._due(current, window, started) or current.status == NEEDS_REAUTH:
                if window is None:
                    return current
                return self._verdict(current, now_micros(), refreshable=True)
            failed_meanwhile = current.lease_holder is None and error_at(current) >= started
            if failed_meanwhile or time.monotonic() > deadline:
                return self._unavailable(current, forced=window is None)

    def _unavailable(self, current: StoredCredential, forced: bool) -> StoredCredential:
        """The refresh failed or did not finish in time: a live token still goes out."""
        expires = current.token_expires_at
        if forced or (expires is not None and expires <= now_micros()):
            raise DependencyUnavailable("the provider could not be reached to refresh the token")
        return current

    def _refresh_holding(
        self,
        current: StoredCredential,
        provider: ProviderRecord,
        holder: str,
        revision: object,
        request_id: str,
        forced: bool,
    ) -> StoredCredential:
        binding = record_binding(current.developer_id, current.principal_id, current.service)
        assert current.refresh_token is not None
        try:
            refresh_token = self._envelope.open(binding, REFRESH_TOKEN, current.refresh_token)
            config = self._providers.client_config(provider)
            tokens = self._oauth.refresh(config, refresh_token.decode("utf-8"))
        except ProviderRefused as refused:
            status = NEEDS_REAUTH if refused.oauth_error == "invalid_grant" else current.status
            failed = self._record_failure(
                current,
                holder,
                revision,
                request_id,
                status,
                refused.oauth_error,
                "the provider refused the refresh token",
            )
            return failed if forced else self._verdict(failed, now_micros(), refreshable=False)
        except ProviderUnreachable as unreachable:
            failed = self._record_failure(
                current,
                holder,
                revision,
                request_id,
                current.status,
                "temporarily_unavailable",
                "the provider could not be reached",
                reason=unreachable.reason,
            )
            return self._unavailable(failed, forced)
        except IntegrityError:
            logs.emit(
                "ERROR",
                "a refresh token or client secret failed authentication; not refreshing",
                credentialId=current.credential_id,
                requestId=request_id,
            )
            self._record_failure(
                current,
                holder,
                revision,
                request_id,
                current.status,
                "integrity_error",
                "a stored secret failed authentication",
            )
            raise
        now = now_micros()
        plaintexts = {ACCESS_TOKEN: tokens.access_token.encode("utf-8")}
        if tokens.refresh_token is not None:
            plaintexts[REFRESH_TOKEN] = tokens.refresh_token.encode("utf-8")
        sealed = self._envelope.seal(binding, plaintexts)
        expires_at = None if tokens.expires_in is None else now + tokens.expires_in * _SECOND
        commit = RefreshCommit(
            developer_id=current.developer_id,
            credential_id=current.credential_id,
            holder=holder,
            status=ACTIVE,
            last_error=None,
            now=now,
            access_token=sealed[ACCESS_TOKEN],
            refresh_token=sealed.get(REFRESH_TOKEN, KEEP),
            token_expires_at=expires_at,
        )
        rotated = "rotated" if tokens.refresh_token is not None else "kept"
        audit = self._audit(current, request_id, f"refreshed refresh_token={rotated}")
        if not self._store.finish_refresh(commit, revision, audit):
            # The record changed under the lease (a store, an erase): what is stored now
            # wins over our older answer.
            logs.emit(
                "WARNING",
                "the credential changed during its refresh; the refresh result is dropped",
                credentialId=current.credential_id,
                requestId=request_id,
            )
            latest = self._store.get(current.developer_id, current.credential_id)
            return self._verdict(latest or current, now_micros(), refreshable=True)
        return replace(
            current,
            access_token=sealed[ACCESS_TOKEN],
            refresh_token=sealed.get(REFRESH_TOKEN, current.refresh_token),
            token_expires_at=expires_at,
            status=ACTIVE,
            last_error=None,
            last_refreshed_at=now,
            updated_at=now,
            lease_holder=None,
            lease_until=None,
            revision=None,
        )

    def _record_failure(
        self,
        current: StoredCredential,
        holder: str,
        revision: object,
        request_id: str,
        status: str,
        code: str,
        message: str,
        reason: str | None = None,
    ) -> StoredCredential:
        now = now_micros()
        error = error_json(code, message, now)
        logs.emit(
            "WARNING",
            "refresh failed",
            credentialId=current.credential_id,
            requestId=request_id,
            oauthError=code,
            **({} if reason is None else {"reason": reason}),
        )
        commit = RefreshCommit(
            developer_id=current.developer_id,
            credential_id=current.credential_id,
            holder=holder,
            status=status,
            last_error=error,
            now=now,
        )
        self._store.finish_refresh(
            commit, revision, self._audit(current, request_id, f"failed error={code}")
        )
        return replace(
            current, status=status, last_error=error, lease_holder=None, lease_until=None
        )

    @staticmethod
    def _audit(current: StoredCredential, request_id: str, outcome: str) -> AuditEntry:
        return AuditEntry(
            entry_id=new_audit_id(),
            action="refresh",
            developer_id=current.developer_id,
            actor="vault",
            credential_id=current.credential_id,
            principal_id=current.principal_id,
            service=current.service,
            request_id=request_id,
            at=now_micros(),
            outcome=outcome,
        )
