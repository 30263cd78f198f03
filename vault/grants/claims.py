"""The claims of a verified grant token, read into GrantClaims (or refused)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vault.errors import Unauthorized


@dataclass(frozen=True, slots=True)
class GrantClaims:
    developer_id: str  # dev
    principal_id: str  # sub
    scopes: tuple[str, ...]  # scp, lower-cased
    token_id: str  # jti
    grant_id: str | None  # grnt
    agent: str | None  # agt
    parent_grant_id: str | None = None  # parentGrnt, on delegated grants
    key_thumbprint: str | None = None  # cnf.jkt: the token is bound to this DPoP key

    @property
    def limiter_key(self) -> str:
        return "grant:" + (self.grant_id or "jti:" + self.token_id)


def read_claims(claims: dict[str, Any]) -> GrantClaims:
    def text(name: str, required: bool = True) -> str | None:
        value = claims.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value:
            raise Unauthorized()
        return value

    scopes = claims.get("scp")
    if not isinstance(scopes, list) or not all(isinstance(scope, str) for scope in scopes):
        raise Unauthorized()
    return GrantClaims(
        developer_id=text("dev") or "",
        principal_id=text("sub") or "",
        scopes=tuple(scope.lower() for scope in scopes),
        token_id=text("jti") or "",
        grant_id=text("grnt", required=False),
        agent=text("agt", required=False),
        parent_grant_id=text("parentGrnt", required=False),
        key_thumbprint=_thumbprint(claims.get("cnf")),
    )


def _thumbprint(confirmation: Any) -> str | None:
    """``cnf.jkt`` (RFC 9449 section 6.1), or None for a bearer token."""
    if confirmation is None:
        return None
    if not isinstance(confirmation, dict):
        raise Unauthorized()
    jkt = confirmation.get("jkt")
    if jkt is None:
        return None
    if not isinstance(jkt, str) or not jkt:
        raise Unauthorized()
    return jkt
