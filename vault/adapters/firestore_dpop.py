"""DPoP proofs already used, in Firestore: collection ``vaultDpopProofs``, one document
per (key thumbprint, jti), made with ``create``, which fails when it exists; so of two
instances that see one proof at once, exactly one accepts it.

``expiresAt`` is a Timestamp for the collection's TTL policy (Terraform), which deletes
an entry some time after it expires; the proof's ``iat`` refuses it by then anyway.

The gateway retries a commit that failed on UNAVAILABLE or ABORTED; when the first
attempt had in fact landed, the retry finds the document. Each document therefore
carries a random ``writer`` tag: a conflict on our own tag is our own write, not a
replay. That costs one read, only on a conflict.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from google.api_core import exceptions as google_errors

from vault.adapters.firestore_gateway import FirestoreGateway
from vault.ids import encode_parts

DPOP_PROOFS = "vaultDpopProofs"


class FirestoreProofReplayStore:
    def __init__(self, gateway: FirestoreGateway) -> None:
        self._gw = gateway
        self._proofs = gateway.client.collection(DPOP_PROOFS)

    def remember(self, thumbprint: str, jti: str, expires_at: int) -> bool:
        reference = self._proofs.document(proof_document_id(thumbprint, jti))
        writer = secrets.token_hex(16)
        document = {
            "expiresAt": datetime.fromtimestamp(expires_at / 1_000_000, tz=UTC),
            "writer": writer,
        }

        def create() -> bool:
            try:
                reference.create(document, retry=self._gw.retry, timeout=self._gw.timeout)
            except google_errors.Conflict:  # ALREADY_EXISTS
                return False
            return True

        if self._gw.call(create):
            return True
        snapshot = self._gw.call(
            lambda: reference.get(retry=self._gw.retry, timeout=self._gw.timeout)
        )
        return bool(snapshot.exists and (snapshot.to_dict() or {}).get("writer") == writer)


def proof_document_id(thumbprint: str, jti: str) -> str:
    # A jti is any string of up to 256 characters; document ids may not be.
    return hashlib.sha256(encode_parts("vault.dpop.v1", thumbprint, jti)).hexdigest()
