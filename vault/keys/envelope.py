"""Envelope encryption over any remote AEAD (Cloud KMS, or a local key file).

Each write draws one fresh 256-bit data key, wraps it once with the remote AEAD (one
KMS call per store), and encrypts every token field of that write with AES-256-GCM
under it. Each field's blob carries its own copy of the wrapped key, so a field can be
decrypted alone (exchange: one KMS call) and a field kept from an earlier write stays
readable.

Ciphertext format, version 1 (all integers big-endian)::

    offset  size  content
    0       1     version, 0x01
    1       2     n, length of the wrapped data key
    3       n     wrapped data key: remote AEAD ciphertext, associated data = binding
    3+n     12    AES-GCM nonce, random
    15+n    ...   AES-256-GCM ciphertext followed by its 16-byte tag; associated data =
                  bytes[0 : 3+n] + binding + UTF-8 field name

``binding`` is ``vault.ids.record_binding(developerId, principalId, service)``, so a
blob copied to another record fails at the key unwrap, and one copied to the other
field of the same record fails at the tag check.

Key rotation changes nothing here: the remote AEAD's ciphertext names the key version
that wrapped the data key (Cloud KMS inside its ciphertext, the local ring by a key id),
so blobs of every version stay readable, and ``open_all`` tells a rewrap which blobs a
non-primary version wrapped.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vault.errors import IntegrityError
from vault.keys.ports import RotatingAead
from vault.ports import Aead

VERSION = 1
_NONCE_SIZE = 12
_TAG_SIZE = 16
_KEY_SIZE = 32
_MAX_WRAPPED_KEY = 0xFFFF


class EnvelopeCipher:
    def __init__(self, key_encryption: Aead) -> None:
        self._kek = key_encryption

    def seal(self, binding: bytes, fields: Mapping[str, bytes]) -> dict[str, bytes]:
        """Encrypt each field under one fresh data key; returns field -> blob."""
        data_key = AESGCM.generate_key(bit_length=_KEY_SIZE * 8)
        wrapped = self._kek.encrypt(data_key, binding)
        if not 0 < len(wrapped) <= _MAX_WRAPPED_KEY:
            raise IntegrityError("wrapped data key has an impossible length")
        header = bytes([VERSION]) + len(wrapped).to_bytes(2, "big") + wrapped
        cipher = AESGCM(data_key)
        sealed: dict[str, bytes] = {}
        for field, plaintext in fields.items():
            nonce = os.urandom(_NONCE_SIZE)
            associated = header + binding + field.encode("utf-8")
            sealed[field] = header + nonce + cipher.encrypt(nonce, plaintext, associated)
        return sealed

    def open(self, binding: bytes, field: str, blob: bytes) -> bytes:
        """Decrypt one field's blob; ``IntegrityError`` if it is not exactly ours."""
        header_end = _header_end(blob)
        data_key = self._kek.decrypt(blob[3:header_end], binding)
        return _open_field(data_key, binding, field, blob, header_end)

    def open_all(self, binding: bytes, blobs: Mapping[str, bytes]) -> tuple[dict[str, bytes], bool]:
        """Decrypt every field of a record, unwrapping each distinct wrapped key once
        (fields sealed by one write share it: one KMS call). Also says whether the
        primary key version wrapped every one of them (the KEK must be a
        ``RotatingAead``): a rewrap skips such a record."""
        kek = self._kek
        if not isinstance(kek, RotatingAead):
            raise TypeError("this key-encryption key cannot tell its versions apart")
        unwrapped: dict[bytes, tuple[bytes, bool]] = {}
        plaintexts: dict[str, bytes] = {}
        for field, blob in blobs.items():
            header_end = _header_end(blob)
            wrapped = blob[3:header_end]
            if wrapped not in unwrapped:
                unwrapped[wrapped] = kek.decrypt_reporting_primary(wrapped, binding)
            plaintexts[field] = _open_field(unwrapped[wrapped][0], binding, field, blob, header_end)
        return plaintexts, all(current for _, current in unwrapped.values())


def wrapped_key(blob: bytes) -> bytes:
    """The remote AEAD's ciphertext of the blob's data key (names the key version)."""
    return blob[3 : _header_end(blob)]


def _header_end(blob: bytes) -> int:
    if len(blob) < 3 or blob[0] != VERSION:
        raise IntegrityError("unknown ciphertext version")
    wrapped_size = int.from_bytes(blob[1:3], "big")
    header_end = 3 + wrapped_size
    if wrapped_size == 0 or len(blob) < header_end + _NONCE_SIZE + _TAG_SIZE:
        raise IntegrityError("ciphertext is truncated")
    return header_end


def _open_field(data_key: bytes, binding: bytes, field: str, blob: bytes, header_end: int) -> bytes:
    if len(data_key) != _KEY_SIZE:
        raise IntegrityError("data key has the wrong size")
    nonce = blob[header_end : header_end + _NONCE_SIZE]
    associated = blob[:header_end] + binding + field.encode("utf-8")
    try:
        return AESGCM(data_key).decrypt(nonce, blob[header_end + _NONCE_SIZE :], associated)
    except InvalidTag:
        raise IntegrityError("ciphertext failed authentication") from None
