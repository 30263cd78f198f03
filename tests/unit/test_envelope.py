"""Envelope encryption: round trip, binding to record and field, tamper detection."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vault.adapters.local_kms import LocalKeyFileAead
from vault.envelope import VERSION, EnvelopeCipher
from vault.errors import IntegrityError
from vault.ids import record_binding


class CountingAead:
    def __init__(self, inner: LocalKeyFileAead) -> None:
        self.inner = inner
        self.encrypts = 0
        self.decrypts = 0

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        self.encrypts += 1
        return self.inner.encrypt(plaintext, associated_data)

    def decrypt(self, ciphertext: bytes, associated_data: bytes) -> bytes:
        self.decrypts += 1
        return self.inner.decrypt(ciphertext, associated_data)


@pytest.fixture
def kek(tmp_path: Path) -> CountingAead:
    return CountingAead(LocalKeyFileAead.from_file(tmp_path / "master.key"))


@pytest.fixture
def envelope(kek: CountingAead) -> EnvelopeCipher:
    return EnvelopeCipher(kek)


RECORD = record_binding("dev-1", "user-1", "github")


def test_round_trip_with_one_wrap_per_write_and_one_unwrap_per_field(envelope, kek):
    sealed = envelope.seal(RECORD, {"accessToken": b"at", "refreshToken": b"rt"})

    assert envelope.open(RECORD, "accessToken", sealed["accessToken"]) == b"at"
    assert envelope.open(RECORD, "refreshToken", sealed["refreshToken"]) == b"rt"
    assert (kek.encrypts, kek.decrypts) == (1, 2)
    assert sealed["accessToken"][0] == VERSION


def test_each_write_uses_a_fresh_data_key(envelope):
    first = envelope.seal(RECORD, {"accessToken": b"same"})["accessToken"]
    second = envelope.seal(RECORD, {"accessToken": b"same"})["accessToken"]

    wrapped_size = int.from_bytes(first[1:3], "big")
    assert first[3 : 3 + wrapped_size] != second[3 : 3 + wrapped_size]
    assert first != second


@pytest.mark.parametrize(
    "other",
    [
        record_binding("dev-2", "user-1", "github"),
        record_binding("dev-1", "user-2", "github"),
        record_binding("dev-1", "user-1", "slack"),
        record_binding("dev-1user-1", "", "github"),
    ],
)
def test_ciphertext_moved_to_another_record_fails(envelope, other):
    sealed = envelope.seal(RECORD, {"accessToken": b"at"})

    with pytest.raises(IntegrityError):
        envelope.open(other, "accessToken", sealed["accessToken"])


def test_ciphertext_moved_to_the_other_field_fails(envelope):
    sealed = envelope.seal(RECORD, {"accessToken": b"at", "refreshToken": b"rt"})

    with pytest.raises(IntegrityError):
        envelope.open(RECORD, "refreshToken", sealed["accessToken"])


@pytest.mark.parametrize("cut", [0, 1, 2, 3, 40, -1, -16])
def test_truncated_ciphertext_fails(envelope, cut):
    blob = envelope.seal(RECORD, {"accessToken": b"at"})["accessToken"]

    with pytest.raises(IntegrityError):
        envelope.open(RECORD, "accessToken", blob[:cut])


@pytest.mark.parametrize("position", [0, 2, 10, 60, -1])
def test_any_flipped_byte_fails(envelope, position):
    blob = bytearray(envelope.seal(RECORD, {"accessToken": b"at"})["accessToken"])
    blob[position] ^= 0x01

    with pytest.raises(IntegrityError):
        envelope.open(RECORD, "accessToken", bytes(blob))


def test_key_file_is_created_0600_and_reused(tmp_path):
    path = tmp_path / "keys" / "master.key"
    first = LocalKeyFileAead.from_file(path)
    wrapped = first.encrypt(b"k" * 32, b"ad")

    second = LocalKeyFileAead.from_file(path)

    assert path.stat().st_mode & 0o777 == 0o600
    assert json.loads(path.read_bytes())["primary"] == 1  # a key ring of one version
    assert second.decrypt(wrapped, b"ad") == b"k" * 32


def test_another_key_file_cannot_unwrap(tmp_path):
    wrapped = LocalKeyFileAead.from_file(tmp_path / "a.key").encrypt(b"k" * 32, b"ad")

    with pytest.raises(IntegrityError):
        LocalKeyFileAead.from_file(tmp_path / "b.key").decrypt(wrapped, b"ad")


class CountingRing(CountingAead):
    def decrypt_reporting_primary(self, ciphertext: bytes, associated_data: bytes) -> Any:
        self.decrypts += 1
        return self.inner.decrypt_reporting_primary(ciphertext, associated_data)


def test_open_all_unwraps_each_wrapped_key_once_and_reports_the_primary(tmp_path):
    from vault.adapters.local_kms import rotate

    path = tmp_path / "master.key"
    ring = CountingRing(LocalKeyFileAead.from_file(path))
    envelope = EnvelopeCipher(ring)
    together = envelope.seal(RECORD, {"accessToken": b"at", "refreshToken": b"rt"})
    rotate(path)
    newer = envelope.seal(RECORD, {"accessToken": b"at-2"})

    assert envelope.open_all(RECORD, together) == (
        {"accessToken": b"at", "refreshToken": b"rt"},
        False,
    )
    assert ring.decrypts == 1
    mixed = {"accessToken": newer["accessToken"], "refreshToken": together["refreshToken"]}
    assert envelope.open_all(RECORD, mixed)[1] is False
    assert envelope.open_all(RECORD, newer) == ({"accessToken": b"at-2"}, True)
    assert ring.decrypts == 4


def test_open_all_needs_a_key_that_knows_its_versions(envelope):
    sealed = envelope.seal(RECORD, {"accessToken": b"at"})

    with pytest.raises(TypeError):
        envelope.open_all(RECORD, sealed)
