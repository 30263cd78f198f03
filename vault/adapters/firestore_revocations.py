"""Issuer revocations in Firestore: denylist entries (``revokedGrants``,
``revokedTokens``: the exchange reads them in its one ``get_all``) and webhook delivery
ids (``vaultWebhookDeliveries``).

A delivery is ONE commit: ``create`` of the delivery id (which fails with ALREADY_EXISTS
when the id was seen before, so a replayed delivery writes nothing), the denials and the
audit entry. Every document that may be dropped carries ``expiresAt`` as a Timestamp
for a TTL policy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import partial

from google.api_core import exceptions as google_errors

from vault.adapters.firestore_codec import (
    AUDIT,
    DELIVERIES,
    DENYLISTS,
    audit_document,
    denylist_id,
    expiry_timestamp,
)
from vault.adapters.firestore_gateway import FirestoreGateway
from vault.errors import DependencyUnavailable
from vault.ports import AuditEntry, Denial


class FirestoreRevocationStore:
    def __init__(self, gateway: FirestoreGateway) -> None:
        self._gw = gateway

    def apply_delivery(
        self, delivery_id: str, denials: Sequence[Denial], keep_until: int, audit: AuditEntry
    ) -> bool:
        client = self._gw.client
        batch = client.batch()
        delivery = client.collection(DELIVERIES).document(
            hashlib.sha256(delivery_id.encode("utf-8")).hexdigest()
        )
        batch.create(delivery, {"expiresAt": expiry_timestamp(keep_until)})
        self._add_denials(batch, denials)
        batch.set(client.collection(AUDIT).document(audit.entry_id), audit_document(audit))
        try:
            batch.commit(retry=self._gw.retry, timeout=self._gw.timeout)
        except google_errors.AlreadyExists:
            # Seen before; or our own retried commit after a lost reply, which landed:
            # either way the denials are in place.
            return False
        except (google_errors.GoogleAPICallError, google_errors.RetryError):
            raise DependencyUnavailable() from None
        return True

    def deny(self, denials: Sequence[Denial]) -> None:
        for start in range(0, len(denials), 400):
            batch = self._gw.client.batch()
            self._add_denials(batch, denials[start : start + 400])
            self._gw.call(partial(batch.commit, retry=self._gw.retry, timeout=self._gw.timeout))

    def allow(self, kind: str, identifier: str) -> None:
        reference = self._gw.client.collection(DENYLISTS[kind]).document(denylist_id(identifier))
        self._gw.call(partial(reference.delete, retry=self._gw.retry, timeout=self._gw.timeout))

    def _add_denials(self, batch: object, denials: Sequence[Denial]) -> None:
        for denial in denials:
            document = self._gw.client.collection(DENYLISTS[denial.kind]).document(
                denylist_id(denial.identifier)
            )
            batch.set(  # type: ignore[attr-defined]
                document,
                {"identifier": denial.identifier, "expiresAt": expiry_timestamp(denial.expires_at)},
            )
