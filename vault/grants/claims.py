"""The claims of a verified grant token, read into GrantClaims (or refused).

Every string of the token must be Unicode text: JSON's ``\\ud800`` escapes let a
signed token carry a lone surrogate, which no UTF-8 encoder (a log line, a Firestore
write, an audit entry) accepts. Such a token is refused here, as a 401, before any
store or KMS call, rather than failing halfway through an exchange.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vault.errors import Unauthorized
from vault.grants.scopes import ascii_lower


@dataclass(frozen=True, slots=True)
class GrantClaims:
    developer_id: str  # dev
    principal_id: str  # sub
    scopes: tuple[str, ...]  # scp, lower-cased (ASCII letters only, see scopes.py)
    token_id: str  # jti
    grant_id: str | None  # grnt
    agent: str | None  # agt
    parent_grant_id: str | None = None  # parentGrnt, on delegated grants
    key_thumbprint: str | None = None  # cnf.jkt: the token is bound to this DPoP key
    expires_at: int | None = None  # exp, epoch microseconds: nothing made from it outlives it

    @property
    def limiter_key(self) -> str:
        return "grant:" + (self.grant_id or "jti:" + self.token_id)


def read_claims(claims: dict[str, Any], expires_at: int | None = None) -> GrantClaims:
    if not is_unicode_text(claims):
        raise Unauthorized(reason="bad_claims")

    def text(name: str, required: bool = True) -> str | None:
        value = claims.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value:
            raise Unauthorized(reason="bad_claims")
        return value

    scopes = claims.get("scp")
    if not isinstance(scopes, list) or not all(isinstance(scope, str) for scope in scopes):
        raise Unauthorized(reason="bad_claims")
    return GrantClaims(
        developer_id=text("dev") or "",
        principal_id=text("sub") or "",
        scopes=tuple(ascii_lower(scope) for scope in scopes),
        token_id=text("jti") or "",
        grant_id=text("grnt", required=False),
        agent=text("agt", required=False),
        parent_grant_id=text("parentGrnt", required=False),
        key_thumbprint=_thumbprint(claims.get("cnf")),
        expires_at=expires_at,
    )


def _thumbprint(confirmation: Any) -> str | None:
    """``cnf.jkt`` (RFC 9449 section 6.1), or None for a bearer token (no ``cnf``). A
    ``cnf`` without ``jkt`` binds the token some other way (RFC 7800: ``x5t#S256``, a
    ``jwk``) that the vault cannot check: refused, never taken for a bearer token."""
    if confirmation is None:
        return None
    if not isinstance(confirmation, dict):
        raise Unauthorized(reason="bad_claims")
    jkt = confirmation.get("jkt")
    if not isinstance(jkt, str) or not jkt:
        raise Unauthorized(reason="bad_claims")
    return jkt


def is_unicode_text(value: Any) -> bool:
    """Whether every string in a decoded JSON value (keys included) encodes as UTF-8.

    Iterative, so a deeply nested claim cannot exhaust the stack."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True
