"""The local key ring: a 32-byte master.key reads as version 1 unchanged, rotation adds
a primary, every version still unwraps, retirement removes one for good."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vault.adapters.local_kms import LocalKeyFileAead, retire, rotate
from vault.errors import ConfigurationError, IntegrityError


def legacy_key_file(path: Path) -> bytes:
    key = os.urandom(32)
    path.write_bytes(key)
    path.chmod(0o600)
    return key


def legacy_wrap(key: bytes, plaintext: bytes, associated: bytes) -> bytes:
    """The wrapped-key format written before rings, built by hand from its description."""
    nonce = os.urandom(12)
    return (
        hashlib.sha256(key).digest()[:4] + nonce + AESGCM(key).encrypt(nonce, plaintext, associated)
    )


def test_a_single_key_file_is_version_1_and_is_not_rewritten(tmp_path):
    path = tmp_path / "master.key"
    key = legacy_key_file(path)
    wrapped = legacy_wrap(key, b"k" * 32, b"ad")

    ring = LocalKeyFileAead.from_file(path)

    assert ring.decrypt_reporting_primary(wrapped, b"ad") == (b"k" * 32, True)
    assert ring.version_of(wrapped) == 1
    assert ring.version_of(ring.encrypt(b"x", b"ad")) == 1
    assert path.read_bytes() == key


def test_rotation_adds_a_primary_and_every_version_still_unwraps(tmp_path):
    path = tmp_path / "master.key"
    key = legacy_key_file(path)
    old = legacy_wrap(key, b"old", b"ad")

    assert rotate(path) == 2
    ring = LocalKeyFileAead.from_file(path)
    new = ring.encrypt(b"new", b"ad")

    assert ring.version_of(new) == 2
    assert ring.decrypt_reporting_primary(new, b"ad") == (b"new", True)
    assert ring.decrypt_reporting_primary(old, b"ad") == (b"old", False)
    assert path.stat().st_mode & 0o777 == 0o600
    document = json.loads(path.read_bytes())
    assert document["primary"] == 2
    assert [item["version"] for item in document["versions"]] == [1, 2]


def test_a_running_ring_picks_up_a_rotation_on_its_next_wrap(tmp_path):
    path = tmp_path / "master.key"
    running = LocalKeyFileAead.from_file(path)
    before = running.encrypt(b"a", b"ad")

    rotate(path)
    after = running.encrypt(b"b", b"ad")

    assert (running.version_of(before), running.version_of(after)) == (1, 2)


def test_a_retired_version_is_gone_and_the_primary_cannot_be_retired(tmp_path):
    path = tmp_path / "master.key"
    ring = LocalKeyFileAead.from_file(path)
    wrapped = ring.encrypt(b"a", b"ad")
    rotate(path)

    with pytest.raises(ConfigurationError):
        retire(path, 2)
    retire(path, 1)

    assert [item.version for item in LocalKeyFileAead(path).ring.versions] == [2]
    with pytest.raises(IntegrityError):
        LocalKeyFileAead(path).decrypt(wrapped, b"ad")
    with pytest.raises(ConfigurationError):
        retire(path, 1)
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    "content",
    [b"short", b"{}", b'{"vaultKeyRing": 1, "primary": 3, "versions": []}', b"x" * 40],
)
def test_a_damaged_key_file_is_refused(tmp_path, content):
    path = tmp_path / "master.key"
    path.write_bytes(content)

    with pytest.raises(ConfigurationError):
        LocalKeyFileAead(path)


def test_a_running_ring_keeps_its_keys_when_the_file_disappears(tmp_path):
    path = tmp_path / "master.key"
    running = LocalKeyFileAead.from_file(path)
    wrapped = running.encrypt(b"a", b"ad")
    path.unlink()

    assert running.decrypt(wrapped, b"ad") == b"a"
    assert running.version_of(running.encrypt(b"b", b"ad")) == 1
