"""Cursors: bound to caller and filters, tagged with a server-side secret, and a
position that is not a real (createdAt, id) is refused even when correctly tagged."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from vault.cursors import decode_cursor, encode_cursor
from vault.errors import BadRequest
from vault.ids import credential_id, encode_parts

SECRET = bytes(range(32))
POSITION = (1_700_000_000_000_000, credential_id("dev-1", "user-1", "github"))


def forge(secret: bytes, payload: list[object], principal: str | None = None) -> str:
    """What someone holding ``secret`` could make: a correctly tagged cursor."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    binding = encode_parts("vault.cursor.v1", "dev-1", principal or "\0", "\0")
    tag = hmac.new(secret, binding + body, hashlib.sha256).digest()[:16]

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return b64(body) + "." + b64(tag)


def test_round_trip():
    cursor = encode_cursor(SECRET, "dev-1", None, None, POSITION)

    assert decode_cursor(SECRET, "dev-1", None, None, cursor) == POSITION


@pytest.mark.parametrize(
    ("secret", "developer", "principal"),
    [(bytes(32), "dev-1", None), (SECRET, "dev-2", None), (SECRET, "dev-1", "user-1")],
)
def test_another_secret_developer_or_filter_is_refused(secret, developer, principal):
    cursor = encode_cursor(SECRET, "dev-1", None, None, POSITION)

    with pytest.raises(BadRequest):
        decode_cursor(secret, developer, principal, None, cursor)


@pytest.mark.parametrize(
    "payload",
    [
        [1, 2**70, POSITION[1]],
        [1, -1, POSITION[1]],
        [1, True, POSITION[1]],
        [1, 5, "a/b"],
        [1, 5, ".."],
        [2, 5, POSITION[1]],
        [1, 5],
        {"not": "a list"},
    ],
)
def test_a_correctly_tagged_cursor_with_an_impossible_position_is_refused(payload):
    with pytest.raises(BadRequest):
        decode_cursor(SECRET, "dev-1", None, None, forge(SECRET, payload))


@pytest.mark.parametrize("garbage", ["", ".", "a.b.c", "!!!.???", "x" * 600, "e30.AAAA"])
def test_garbled_cursors_are_refused(garbage):
    with pytest.raises(BadRequest):
        decode_cursor(SECRET, "dev-1", None, None, garbage)
