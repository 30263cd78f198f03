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
from datetime import datetime
from functools import partial
from typing import Any

from google.api_core import exceptions as google_errors
from google.cloud import firestore

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
        """The feed's entries, each merged with what is there in a transaction: the later
        expiry wins, and a suspension never turns a revocation into one."""
        unique = list({(denial.kind, denial.identifier): denial for denial in denials}.values())
        for start in range(0, len(unique), 400):
            chunk = unique[start : start + 400]
            self._gw.call(partial(self._merge_denials, chunk))

    def allow(self, kind: str, identifier: str) -> None:
        if kind != "grant":
            return  # only a grant is suspended, and so resumed
        client = self._gw.client
        reference = client.collection(DENYLISTS[kind]).document(denylist_id(identifier))

        @firestore.transactional  # type: ignore[untyped-decorator]
        def lift(transaction: Any) -> None:
            snapshot = reference.get(transaction=transaction, timeout=self._gw.timeout)
            if snapshot.exists and (snapshot.to_dict() or {}).get("suspended") is True:
                transaction.delete(reference)

        self._gw.call(lambda: lift(client.transaction()))

    def _merge_denials(self, denials: Sequence[Denial]) -> None:
        client = self._gw.client
        references = [
            client.collection(DENYLISTS[denial.kind]).document(denylist_id(denial.identifier))
            for denial in denials
        ]

        @firestore.transactional  # type: ignore[untyped-decorator]
        def merge(transaction: Any) -> None:
            found = {
                snapshot.reference.path: snapshot.to_dict() or {}
                for snapshot in client.get_all(
                    references, transaction=transaction, timeout=self._gw.timeout
                )
                if snapshot.exists
            }
            for denial, reference in zip(denials, references, strict=True):
                transaction.set(reference, _merged(denial, found.get(reference.path)))

        merge(client.transaction())

    def _add_denials(self, batch: object, denials: Sequence[Denial]) -> None:
        for denial in denials:
            document = self._gw.client.collection(DENYLISTS[denial.kind]).document(
                denylist_id(denial.identifier)
            )
            batch.set(  # type: ignore[attr-defined]
                document, _merged(denial, None) if denial.suspension else _revocation(denial)
            )


def _revocation(denial: Denial) -> dict[str, Any]:
    return {"identifier": denial.identifier, "expiresAt": expiry_timestamp(denial.expires_at)}


def _merged(denial: Denial, existing: dict[str, Any] | None) -> dict[str, Any]:
    """``denial`` over the entry already there (None: none): the later expiry, and
    ``suspended`` only while every write so far was a suspension."""
    document = _revocation(denial)
    suspended = denial.suspension
    if existing is not None:
        before = existing.get("expiresAt")
        if isinstance(before, datetime) and before > document["expiresAt"]:
            document["expiresAt"] = before
        suspended = suspended and existing.get("suspended") is True
    if suspended:
        document["suspended"] = True
    return document
