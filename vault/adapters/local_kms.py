"""The local stand-in for Cloud KMS: a 256-bit key in a file, created mode 0600.

It wraps data keys exactly where Cloud KMS would, so the envelope and everything above
it run unchanged on a laptop. Ciphertext: 4-byte key id (first bytes of SHA-256 of the
key) + 12-byte nonce + AES-256-GCM ciphertext and tag. The key id lets a wrong key file
be told apart from a tampered ciphertext.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vault.adapters.secret_files import read_or_create
from vault.errors import ConfigurationError, IntegrityError

_KEY_SIZE = 32
_NONCE_SIZE = 12
_KEY_ID_SIZE = 4


class LocalKeyFileAead:
    def __init__(self, key: bytes) -> None:
        if len(key) != _KEY_SIZE:
            raise ConfigurationError("the local key file must hold exactly 32 bytes")
        self._cipher = AESGCM(key)
        self._key_id = hashlib.sha256(key).digest()[:_KEY_ID_SIZE]

    @classmethod
    def from_file(cls, path: Path) -> LocalKeyFileAead:
        """Load the key, creating it (0600, never overwritten) on first use."""
        return cls(read_or_create(path, lambda: os.urandom(_KEY_SIZE)))

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        nonce = os.urandom(_NONCE_SIZE)
        return self._key_id + nonce + self._cipher.encrypt(nonce, plaintext, associated_data)

    def decrypt(self, ciphertext: bytes, associated_data: bytes) -> bytes:
        if ciphertext[:_KEY_ID_SIZE] != self._key_id:
            raise IntegrityError("data key was wrapped by another local key")
        body = ciphertext[_KEY_ID_SIZE:]
        try:
            return self._cipher.decrypt(body[:_NONCE_SIZE], body[_NONCE_SIZE:], associated_data)
        except (InvalidTag, ValueError):
            raise IntegrityError("wrapped data key failed authentication") from None
