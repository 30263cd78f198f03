"""Opaque list cursors, bound to the caller and the filters that made them.

A cursor is ``base64url(json [version, createdAt, id]) "." base64url(tag)`` where the
tag is a truncated HMAC-SHA256 over the binding (developer, filters) and the payload,
keyed by a random secret stored with the caller's API key and never shown to anyone.
A forged, garbled or foreign cursor (another developer, other filters) is 400, and so
is a correctly tagged one whose position is not a real (createdAt, id).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from vault.errors import BadRequest, FieldError
from vault.ids import encode_parts, is_credential_id

if TYPE_CHECKING:
    from vault.ports import ApiKeyRecord

_VERSION = 1
_TAG_BYTES = 16
_MAX_CURSOR_LENGTH = 512


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _binding(developer_id: str, principal_id: str | None, service: str | None) -> bytes:
    # A control character cannot appear in a principal id or service, so "\0" marks "no filter".
    return encode_parts("vault.cursor.v1", developer_id, principal_id or "\0", service or "\0")


def _tag(secret: bytes, binding: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, binding + payload, hashlib.sha256).digest()[:_TAG_BYTES]


def encode_position(secret: bytes, binding: bytes, position: tuple[int, str]) -> str:
    """A cursor for ``position`` (a sort key and an id), tagged for ``binding``."""
    payload = json.dumps([_VERSION, position[0], position[1]], separators=(",", ":")).encode()
    return _b64(payload) + "." + _b64(_tag(secret, binding, payload))


def decode_position(
    secret: bytes, binding: bytes, cursor: str, is_id: Callable[[str], bool]
) -> tuple[int, str]:
    """The position a cursor made by ``encode_position`` for ``binding`` holds; 400 for
    anything else, and for a position whose id ``is_id`` refuses."""
    invalid = BadRequest(
        "the cursor is not valid for this query",
        [FieldError("cursor", "must be a nextCursor returned by the same query")],
    )
    if len(cursor) > _MAX_CURSOR_LENGTH or cursor.count(".") != 1:
        raise invalid
    encoded_payload, encoded_tag = cursor.split(".")
    try:
        payload, tag = _unb64(encoded_payload), _unb64(encoded_tag)
    except (binascii.Error, ValueError):
        raise invalid from None
    if not hmac.compare_digest(tag, _tag(secret, binding, payload)):
        raise invalid
    try:
        version, key, identifier = json.loads(payload)
    except (ValueError, TypeError):
        raise invalid from None
    if (
        version != _VERSION
        or type(key) is not int
        or not 0 <= key < 2**63
        or not isinstance(identifier, str)
        or not is_id(identifier)
    ):
        raise invalid
    return key, identifier


def encode_cursor(
    secret: bytes,
    developer_id: str,
    principal_id: str | None,
    service: str | None,
    position: tuple[int, str],
) -> str:
    return encode_position(secret, _binding(developer_id, principal_id, service), position)


def decode_cursor(
    secret: bytes,
    developer_id: str,
    principal_id: str | None,
    service: str | None,
    cursor: str,
) -> tuple[int, str]:
    binding = _binding(developer_id, principal_id, service)
    return decode_position(secret, binding, cursor, is_credential_id)


def cursor_secret(caller: ApiKeyRecord) -> bytes:
    """The caller's cursor key; keys made before cursor secrets existed use their digest."""
    return bytes.fromhex(caller.cursor_secret or caller.digest)
