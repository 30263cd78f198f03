"""A small fake of Cloud KMS's gRPC service, for the real google-cloud-kms client.

No KMS emulator exists, so the tests run this on loopback: it speaks the real
``google.cloud.kms.v1.KeyManagementService`` Encrypt/Decrypt wire protocol, checks the
CRC32C the client sends, returns real checksums, binds ciphertext to the key name and
the additional authenticated data, counts calls, and can be told to misbehave.

Keys have versions, as in Cloud KMS: Encrypt uses the primary and names it in the
response; the ciphertext names its version (4 bytes, then nonce and AES-GCM), so
Decrypt picks it and reports ``used_primary``; a disabled or destroyed version refuses
Decrypt with FAILED_PRECONDITION ("... is not enabled, current state is: DISABLED."),
as Cloud KMS does. Tests drive rotation with ``rotate``, ``disable``, ``enable``
and ``destroy``.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from concurrent import futures
from typing import Any

import google_crc32c
import grpc
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.cloud import kms_v1

SERVICE = "google.cloud.kms.v1.KeyManagementService"


def _crc(data: bytes) -> int:
    return int(google_crc32c.value(data))


class FakeKms:
    """Faults: None, "unavailable", "slow", "corrupt_response", "unverified"."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.fault: str | None = None
        self.slow_seconds = 2.0
        self._keys: dict[str, _Key] = {}
        self._lock = threading.Lock()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        handlers = {
            "Encrypt": grpc.unary_unary_rpc_method_handler(
                self._encrypt,
                request_deserializer=kms_v1.EncryptRequest.deserialize,
                response_serializer=kms_v1.EncryptResponse.serialize,
            ),
            "Decrypt": grpc.unary_unary_rpc_method_handler(
                self._decrypt,
                request_deserializer=kms_v1.DecryptRequest.deserialize,
                response_serializer=kms_v1.DecryptResponse.serialize,
            ),
        }
        self._server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, handlers),)
        )
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self.endpoint = f"127.0.0.1:{self.port}"

    def start(self) -> FakeKms:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop(grace=None)

    def reset(self) -> None:
        self.calls.clear()
        self.fault = None

    def _key(self, name: str) -> _Key:
        with self._lock:
            if name not in self._keys:
                self._keys[name] = _Key()
            return self._keys[name]

    def rotate(self, name: str) -> int:
        """Add a version to the key and make it the primary (Cloud KMS rotation)."""
        key = self._key(name)
        with self._lock:
            number = max(key.versions) + 1
            key.versions[number] = _Version()
            key.primary = number
        return number

    def primary(self, name: str) -> int:
        return self._key(name).primary

    def disable(self, name: str, version: int) -> None:
        self._key(name).versions[version].state = "DISABLED"

    def enable(self, name: str, version: int) -> None:
        self._key(name).versions[version].state = "ENABLED"

    def destroy(self, name: str, version: int) -> None:
        self._key(name).versions[version].state = "DESTROYED"

    def _misbehave(self, context: Any) -> None:
        if self.fault == "unavailable":
            context.abort(grpc.StatusCode.UNAVAILABLE, "fake KMS is down")
        if self.fault == "slow":
            time.sleep(self.slow_seconds)

    def _encrypt(self, request: Any, context: Any) -> Any:
        self.calls["Encrypt"] += 1
        self._misbehave(context)
        if request.plaintext_crc32c is not None and request.plaintext_crc32c != _crc(
            request.plaintext
        ):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "plaintext checksum mismatch")
        aad = request.additional_authenticated_data
        key = self._key(request.name)
        number = key.primary
        nonce = os.urandom(12)
        ciphertext = (
            number.to_bytes(4, "big")
            + nonce
            + key.versions[number].cipher.encrypt(nonce, request.plaintext, aad)
        )
        checksum = _crc(ciphertext) ^ (1 if self.fault == "corrupt_response" else 0)
        verified = self.fault != "unverified"
        return kms_v1.EncryptResponse(
            name=f"{request.name}/cryptoKeyVersions/{number}",
            ciphertext=ciphertext,
            ciphertext_crc32c=checksum,
            verified_plaintext_crc32c=verified,
            verified_additional_authenticated_data_crc32c=verified,
        )

    def _decrypt(self, request: Any, context: Any) -> Any:
        self.calls["Decrypt"] += 1
        self._misbehave(context)
        if request.ciphertext_crc32c is not None and request.ciphertext_crc32c != _crc(
            request.ciphertext
        ):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "ciphertext checksum mismatch")
        body = bytes(request.ciphertext)
        key = self._key(request.name)
        number = int.from_bytes(body[:4], "big")
        version = key.versions.get(number)
        if version is None:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Decryption failed")
        assert version is not None  # abort raised
        if version.state != "ENABLED":
            context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"{request.name}/cryptoKeyVersions/{number} is not enabled, "
                f"current state is: {version.state}.",
            )
        try:
            plaintext = version.cipher.decrypt(
                body[4:16], body[16:], request.additional_authenticated_data
            )
        except (InvalidTag, ValueError):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Decryption failed")
        checksum = _crc(plaintext) ^ (1 if self.fault == "corrupt_response" else 0)
        return kms_v1.DecryptResponse(
            plaintext=plaintext, plaintext_crc32c=checksum, used_primary=number == key.primary
        )


class _Version:
    def __init__(self) -> None:
        self.cipher = AESGCM(AESGCM.generate_key(bit_length=256))
        self.state = "ENABLED"


class _Key:
    def __init__(self) -> None:
        self.versions: dict[int, _Version] = {1: _Version()}
        self.primary = 1
