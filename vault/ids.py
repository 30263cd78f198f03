"""Deterministic credential ids and the binding that ties ciphertext to its record.

The id of a credential is derived from (developerId, principalId, service), so a store
can be a single blind write: the same triple always lands on the same document.
Each part is length-prefixed before hashing, so no two triples share an encoding
(``("a", "bc")`` and ``("ab", "c")`` differ).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time


def encode_parts(*parts: str) -> bytes:
    out = bytearray()
    for part in parts:
        raw = part.encode("utf-8")
        out += len(raw).to_bytes(4, "big")
        out += raw
    return bytes(out)


def credential_id(developer_id: str, principal_id: str, service: str) -> str:
    digest = hashlib.sha256(
        encode_parts("vault.credential.v1", developer_id, principal_id, service)
    ).digest()
    return "vc_" + base64.b32encode(digest[:20]).decode("ascii").lower()


_CREDENTIAL_ID = re.compile(r"vc_[a-z2-7]{32}", re.ASCII)


def is_credential_id(text: str) -> bool:
    """Only ids of our own shape reach a store (Firestore refuses ids such as "..")."""
    return _CREDENTIAL_ID.fullmatch(text) is not None


def record_binding(developer_id: str, principal_id: str, service: str) -> bytes:
    """Associated data for the record; the envelope appends the field name."""
    return encode_parts("vault.record.v1", developer_id, principal_id, service)


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference_id() -> str:
    """``vcr_`` + a ULID: 48 bits of milliseconds, then 80 random bits, in Crockford's
    base32 (26 symbols). The random part alone makes it unguessable."""
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    symbols = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        symbols.append(_CROCKFORD[digit])
    return "vcr_" + "".join(reversed(symbols))


REFERENCE_ID = re.compile(r"vcr_[0-9A-HJKMNP-TV-Z]{26}", re.ASCII)
