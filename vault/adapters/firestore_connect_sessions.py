"""Connect sessions in Firestore (collection ``vaultConnectSessions``).

The revision is the document's ``update_time``: a write is an update with that
``last_update_time`` precondition, so of two writers holding the same read exactly one
lands. Each write carries a random ``writeId``; when a retried commit meets a failed
precondition, the stored ``writeId`` tells whether our first attempt had landed.

``expiresAt`` is a Timestamp for the collection's TTL policy, a day after the session
expires (its final status stays readable that long); ``expiresAtMicros`` is the expiry
the vault compares.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from google.api_core import exceptions as google_errors

from vault.adapters.firestore_gateway import FirestoreGateway
from vault.errors import DependencyUnavailable
from vault.oauth.connect_sessions import ConnectSession

CONNECT_SESSIONS = "vaultConnectSessions"
_KEEP_EXPIRED_MICROS = 86_400 * 1_000_000


class FirestoreConnectSessionStore:
    def __init__(self, gateway: FirestoreGateway) -> None:
        self._gw = gateway
        self._sessions = gateway.client.collection(CONNECT_SESSIONS)

    def create(self, session: ConnectSession) -> None:
        reference = self._sessions.document(session.session_id)
        document = _document(session)
        try:
            reference.create(document, retry=self._gw.retry, timeout=self._gw.timeout)
        except google_errors.Conflict:
            # Ids are 192 random bits: only our own retried create can meet the document.
            landed = self._gw.call(
                lambda: reference.get(retry=self._gw.retry, timeout=self._gw.timeout)
            )
            if not landed.exists or (landed.to_dict() or {}).get("writeId") != document["writeId"]:
                raise
        except (google_errors.GoogleAPICallError, google_errors.RetryError):
            raise DependencyUnavailable() from None

    def get(self, session_id: str) -> ConnectSession | None:
        reference = self._sessions.document(session_id)
        snapshot = self._gw.call(
            lambda: reference.get(retry=self._gw.retry, timeout=self._gw.timeout)
        )
        if not snapshot.exists:
            return None
        return _session(snapshot.id, snapshot.to_dict() or {}, snapshot.update_time)

    def replace(self, before: ConnectSession, after: ConnectSession) -> ConnectSession | None:
        assert before.session_id == after.session_id
        reference = self._sessions.document(before.session_id)
        document = _document(after)
        option = self._gw.client.write_option(last_update_time=before.revision)
        try:
            result = reference.update(
                document, option=option, retry=self._gw.retry, timeout=self._gw.timeout
            )
        except (google_errors.FailedPrecondition, google_errors.NotFound):
            stored = self._gw.call(
                lambda: reference.get(retry=self._gw.retry, timeout=self._gw.timeout)
            )
            if stored.exists and (stored.to_dict() or {}).get("writeId") == document["writeId"]:
                return replace(after, revision=stored.update_time)  # our retried write landed
            return None
        except (google_errors.GoogleAPICallError, google_errors.RetryError):
            raise DependencyUnavailable() from None
        return replace(after, revision=result.update_time)


def _document(session: ConnectSession) -> dict[str, Any]:
    return {
        "developerId": session.developer_id,
        "keyId": session.key_id,
        "principalId": session.principal_id,
        "service": session.service,
        "scopes": list(session.scopes),
        "redirectUrl": session.redirect_url,
        "status": session.status,
        "createdAt": session.created_at,
        "expiresAtMicros": session.expires_at,
        "expiresAt": datetime.fromtimestamp(
            (session.expires_at + _KEEP_EXPIRED_MICROS) / 1_000_000, tz=UTC
        ),
        "credentialId": session.credential_id,
        "error": session.error,
        "stateDigest": session.state_digest,
        "sealedVerifier": session.sealed_verifier,
        "openedAt": session.opened_at,
        "redeemedAt": session.redeemed_at,
        "writeId": secrets.token_hex(8),
    }


def _session(session_id: str, data: dict[str, Any], update_time: object) -> ConnectSession:
    return ConnectSession(
        session_id=session_id,
        developer_id=data["developerId"],
        key_id=data["keyId"],
        principal_id=data["principalId"],
        service=data["service"],
        scopes=tuple(data.get("scopes") or ()),
        redirect_url=data.get("redirectUrl"),
        status=data["status"],
        created_at=data["createdAt"],
        expires_at=data["expiresAtMicros"],
        credential_id=data.get("credentialId"),
        error=data.get("error"),
        state_digest=data.get("stateDigest"),
        sealed_verifier=data.get("sealedVerifier"),
        opened_at=data.get("openedAt"),
        redeemed_at=data.get("redeemedAt"),
        revision=update_time,
    )
