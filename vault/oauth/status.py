"""Credential status as the API shows it, and the stored last-error record."""

from __future__ import annotations

import json

from vault.ports import StoredCredential

ACTIVE = "active"
NEEDS_REAUTH = "needs_reauth"
EXPIRED = "expired"


def effective_status(stored: StoredCredential, now: int, refreshable: bool) -> str:
    """What the API shows: ``needs_reauth`` as stored; ``expired`` when past the expiry
    with no way to refresh; else ``active``."""
    if stored.status == NEEDS_REAUTH:
        return NEEDS_REAUTH
    expires = stored.token_expires_at
    if expires is not None and expires <= now and not refreshable:
        return EXPIRED
    return ACTIVE


def error_json(code: str, message: str, at: int) -> str:
    return json.dumps({"code": code, "message": message, "at": at}, separators=(",", ":"))


def error_at(stored: StoredCredential) -> int:
    if stored.last_error is None:
        return 0
    return int(json.loads(stored.last_error).get("at", 0))
