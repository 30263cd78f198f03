"""Connect sessions: the record of one end user's trip through a provider's consent.

A session is made by the developer (API key), opened once by the end user's browser
(which fixes the PKCE verifier and the ``state``), and finished once by the provider's
redirect. Each step is a compare-and-set on the stored revision, so of two racing
callbacks (a replayed ``state``, a replayed code) exactly one wins.

The ``state`` handed to the provider is ``<session id>.<secret>``: the session is found
by its id and the secret compared, in constant time, with the SHA-256 digest stored on
the session (the secret itself is never stored). The PKCE verifier is sealed with the
envelope cipher, bound to the developer and the session.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from vault.ids import encode_parts

Status = Literal["pending", "connected", "denied", "failed", "expired"]
FINAL: frozenset[str] = frozenset({"connected", "denied", "failed"})
VERIFIER_FIELD = "codeVerifier"

_SESSION_ID = re.compile(r"cs_[A-Za-z0-9_-]{32}", re.ASCII)


def new_session_id() -> str:
    return "cs_" + secrets.token_urlsafe(24)


def is_session_id(text: str) -> bool:
    return _SESSION_ID.fullmatch(text) is not None


def new_state(session_id: str) -> tuple[str, str]:
    """(the state for the provider, the digest to store)."""
    secret = secrets.token_urlsafe(32)
    return f"{session_id}.{secret}", state_digest(secret)


def state_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def split_state(state: str) -> tuple[str, str] | None:
    session_id, dot, secret = state.partition(".")
    if not dot or not is_session_id(session_id) or not 16 <= len(secret) <= 128:
        return None
    return session_id, secret


def state_matches(session: ConnectSession, secret: str) -> bool:
    if session.state_digest is None:
        return False
    return hmac.compare_digest(session.state_digest, state_digest(secret))


def verifier_binding(developer_id: str, session_id: str) -> bytes:
    return encode_parts("vault.connect.v1", developer_id, session_id)


@dataclass(frozen=True, slots=True)
class ConnectSession:
    session_id: str
    developer_id: str
    key_id: str  # the API key that made the session: the actor of its audit entry
    principal_id: str
    service: str
    scopes: Sequence[str]
    redirect_url: str | None
    status: Status
    created_at: int  # epoch microseconds
    expires_at: int
    credential_id: str | None = None
    error: str | None = None  # the provider's OAuth error code, or one of ours
    state_digest: str | None = None  # set when the browser opens the session
    sealed_verifier: bytes | None = None
    opened_at: int | None = None
    redeemed_at: int | None = None  # the state was spent (a callback took it)
    revision: object = None  # the adapter's precondition token for the next write

    def status_at(self, now: int) -> Status:
        if self.status == "pending" and now >= self.expires_at:
            return "expired"
        return self.status


class ConnectSessionStore(Protocol):
    def create(self, session: ConnectSession) -> None: ...

    def get(self, session_id: str) -> ConnectSession | None:
        """The session, with the revision its next write must match."""
        ...

    def replace(self, before: ConnectSession, after: ConnectSession) -> ConnectSession | None:
        """Write ``after`` if the stored session is still ``before`` (same revision);
        returns it with its new revision. None when another writer got there first (or
        the session is gone)."""
        ...
