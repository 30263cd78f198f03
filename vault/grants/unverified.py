"""Reading a grant token's claims without verifying it: for the operator's CLI only.

Revoking needs no trust in the token (denying a ``jti`` only ever refuses more), so
``grants revoke --token`` may be handed a whole JWT and takes its ``jti`` from here.
Never use these claims to let anything in.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

_SEGMENT = re.compile(r"[A-Za-z0-9_-]+", re.ASCII)


def _segment_json(segment: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded))


def looks_like_jwt(value: str) -> bool:
    """Three base64url segments whose first is a JSON object header with an ``alg``."""
    parts = value.split(".")
    if len(parts) != 3 or not all(_SEGMENT.fullmatch(part) for part in parts[:2]):
        return False
    try:
        header = _segment_json(parts[0])
    except (ValueError, binascii.Error):
        return False
    return isinstance(header, dict) and "alg" in header


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified; ValueError if it is not a JSON object."""
    if not looks_like_jwt(token):
        raise ValueError("not a JWT")
    try:
        claims = _segment_json(token.split(".")[1])
    except (ValueError, binascii.Error):
        raise ValueError("the token's payload is not JSON") from None
    if not isinstance(claims, dict):
        raise ValueError("the token's payload is not a JSON object")
    return claims


def token_id(value: str) -> str:
    """A grant token id: ``value`` itself, or the ``jti`` of ``value`` when it is a JWT."""
    if not looks_like_jwt(value):
        return value
    jti = unverified_claims(value).get("jti")
    if not isinstance(jti, str) or not jti:
        raise ValueError("the grant token has no jti claim; nothing to revoke")
    return jti
