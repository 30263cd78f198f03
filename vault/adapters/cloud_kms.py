"""Cloud KMS as the remote AEAD that wraps data keys.

Integrity is checked in both directions with CRC32C, as Google recommends: the request
carries checksums of what we send, and we verify the checksums KMS returns (and that
KMS says it verified ours). Each call has a deadline and retries transient failures
(encrypting or decrypting again has no side effect) within that deadline.
SDK errors stop at this boundary: callers see ``DependencyUnavailable`` (503) or
``IntegrityError`` (the ciphertext or its binding is not what KMS wrapped).

Key versions: Cloud KMS wraps under the key's primary version and names the version
inside its ciphertext, so every version decrypts while it is enabled; the decrypt
response says whether the primary did (``used_primary``), which is how a rewrap tells
current data keys apart at no extra cost. A disabled or destroyed version answers
FAILED_PRECONDITION: ``KeyVersionUnusable`` (503).
"""

from __future__ import annotations

from typing import Any

import google_crc32c
from google.api_core import exceptions as google_errors
from google.cloud import kms

from vault.adapters.google_calls import retry_within
from vault.errors import DependencyUnavailable, IntegrityError
from vault.keys.ports import KeyVersionUnusable

_TRANSIENT = (
    google_errors.ServiceUnavailable,
    google_errors.DeadlineExceeded,
    google_errors.InternalServerError,
    google_errors.ResourceExhausted,
)


def crc32c(data: bytes) -> int:
    return int(google_crc32c.value(data))


def client_for(endpoint: str | None) -> kms.KeyManagementServiceClient:
    """The real client; ``endpoint`` (tests only) is a plaintext gRPC host:port."""
    if endpoint is None:
        return kms.KeyManagementServiceClient()
    import grpc
    from google.cloud.kms_v1.services.key_management_service.transports import (
        KeyManagementServiceGrpcTransport,
    )

    channel = grpc.insecure_channel(endpoint)
    return kms.KeyManagementServiceClient(
        transport=KeyManagementServiceGrpcTransport(channel=channel)
    )


class CloudKmsAead:
    def __init__(
        self, client: kms.KeyManagementServiceClient, key_name: str, timeout: float
    ) -> None:
        self._client = client
        self._key_name = key_name
        self._timeout = timeout
        self._retry = retry_within(timeout, *_TRANSIENT)

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        response = self._call(
            self._client.encrypt,
            {
                "name": self._key_name,
                "plaintext": plaintext,
                "plaintext_crc32c": crc32c(plaintext),
                "additional_authenticated_data": associated_data,
                "additional_authenticated_data_crc32c": crc32c(associated_data),
            },
        )
        if not (
            response.verified_plaintext_crc32c
            and response.verified_additional_authenticated_data_crc32c
            and response.ciphertext_crc32c == crc32c(response.ciphertext)
        ):
            raise DependencyUnavailable(
                "the key service returned a corrupted response", reason="kms_corrupt_response"
            )
        return bytes(response.ciphertext)

    def decrypt(self, ciphertext: bytes, associated_data: bytes) -> bytes:
        return self.decrypt_reporting_primary(ciphertext, associated_data)[0]

    def decrypt_reporting_primary(
        self, ciphertext: bytes, associated_data: bytes
    ) -> tuple[bytes, bool]:
        """The plaintext, and whether the key's primary version wrapped it."""
        response = self._call(
            self._client.decrypt,
            {
                "name": self._key_name,
                "ciphertext": ciphertext,
                "ciphertext_crc32c": crc32c(ciphertext),
                "additional_authenticated_data": associated_data,
                "additional_authenticated_data_crc32c": crc32c(associated_data),
            },
        )
        if response.plaintext_crc32c != crc32c(response.plaintext):
            raise DependencyUnavailable(
                "the key service returned a corrupted response", reason="kms_corrupt_response"
            )
        return bytes(response.plaintext), bool(response.used_primary)

    def _call(self, method: Any, request: dict[str, Any]) -> Any:
        try:
            return method(request=request, retry=self._retry, timeout=self._timeout)
        except google_errors.InvalidArgument:
            if method == self._client.decrypt:
                # KMS refuses a ciphertext it did not produce under this key and AAD.
                raise IntegrityError("the key service could not unwrap the data key") from None
            raise DependencyUnavailable(reason="kms_unavailable") from None
        except google_errors.FailedPrecondition:
            raise KeyVersionUnusable("the key version of this data key is not enabled") from None
        except (google_errors.GoogleAPICallError, google_errors.RetryError):
            raise DependencyUnavailable(reason="kms_unavailable") from None
