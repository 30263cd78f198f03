"""Cloud Firestore adapters: credentials, their audit trail, and API keys.

A store is ONE commit RPC, with no read first and no transaction:

* the document id is the credential id, derived from (developerId, principalId,
  service), so the write is a blind merge onto a known path;
* ``createdAt`` is written with a ``Minimum(now)`` transform: the first value stays,
  and the commit's ``transform_results`` hand the stored value back (an instance whose
  clock runs behind the first writer's by more than the time between the two writes
  would move it earlier; instance clocks on Google Cloud are kept in sync);
* the response must name the stored ``credentialType`` even when the request left it
  out (absent keeps the stored value). The type is therefore also kept as three
  integer codes (11 symbols each, see ``type_codes``); when the request omits it, a
  ``Maximum(0)`` transform on each code changes nothing and returns the stored codes;
* the audit entry is a ``set`` in the same batch, so it commits atomically with the
  change, and the whole commit is idempotent: retrying it after a lost reply writes
  the same state again. That is why retries on UNAVAILABLE / ABORTED are safe here.

Metadata is stored as a compact JSON string, not a map: Firestore maps cannot hold
every JSON object (empty keys, integers beyond 64 bits), and the vault never queries it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from google.api_core import exceptions as google_errors
from google.cloud import firestore

from vault.adapters.firestore_codec import (
    AUDIT,
    CREDENTIALS,
    DENYLISTS,
    TYPE_CODE_FIELDS,
    audit_document,
    audit_entry_from,
    credential_from,
    denylist_id,
    owned_credential,
    type_codes,
    type_from_codes,
)
from vault.adapters.firestore_gateway import FIRESTORE_UNAVAILABLE, FirestoreGateway
from vault.adapters.firestore_refresh import FirestoreRefreshLease
from vault.errors import DependencyUnavailable
from vault.ports import (
    DEFAULT_CREDENTIAL_TYPE,
    KEEP,
    AuditEntry,
    AuditFactory,
    AuditQuery,
    CredentialWrite,
    ExchangeLookup,
    PageQuery,
    StoredCredential,
    WriteResult,
)

_WRITES_PER_BATCH = 500  # Firestore's limit for one commit
_DELETE_ATTEMPTS = 3


class FirestoreCredentialStore(FirestoreRefreshLease):
    def __init__(self, gateway: FirestoreGateway) -> None:
        self._gw = gateway
        self._credentials = gateway.client.collection(CREDENTIALS)
        self._audit = gateway.client.collection(AUDIT)

    def upsert(self, write: CredentialWrite, audit: AuditEntry) -> WriteResult:
        document: dict[str, Any] = {
            "developerId": write.developer_id,
            "principalId": write.principal_id,
            "service": write.service,
            "accessToken": write.access_token,
            "tokenExpiresAt": write.token_expires_at,
            "createdAt": firestore.Minimum(write.now),
            "updatedAt": write.now,
            # A store is a fresh start: status active, no error, no refresh lease.
            "status": "active",
            "lastError": None,
            "refreshLeaseHolder": None,
            "refreshLeaseUntil": None,
        }
        if write.credential_type is KEEP:
            document.update({field: firestore.Maximum(0) for field in TYPE_CODE_FIELDS})
        else:
            document["credentialType"] = write.credential_type
            document.update(zip(TYPE_CODE_FIELDS, type_codes(write.credential_type), strict=True))
        if write.refresh_token is not KEEP:
            document["refreshToken"] = write.refresh_token
        if write.metadata_json is not KEEP:
            document["metadata"] = write.metadata_json

        batch = self._gw.client.batch()
        batch.set(self._credentials.document(write.credential_id), document, merge=True)
        batch.set(self._audit.document(audit.entry_id), audit_document(audit))
        results = self._gw.call(
            lambda: batch.commit(retry=self._gw.retry, timeout=self._gw.timeout)
        )
        # Transform results come in field-path order: createdAt, then typeCode0..2.
        transformed = [value.integer_value for value in results[0].transform_results]
        credential_type = (
            type_from_codes(transformed[1:4])
            if write.credential_type is KEEP
            else write.credential_type
        )
        return WriteResult(
            credential_type=credential_type or DEFAULT_CREDENTIAL_TYPE,
            created_at=transformed[0],
            updated_at=write.now,
        )

    def get(self, developer_id: str, credential_id: str) -> StoredCredential | None:
        reference = self._credentials.document(credential_id)
        snapshot = self._gw.call(
            lambda: reference.get(retry=self._gw.retry, timeout=self._gw.timeout)
        )
        return owned_credential(snapshot, developer_id)

    def list_page(self, query: PageQuery) -> Sequence[StoredCredential]:
        request = self._credentials.where(
            filter=firestore.FieldFilter("developerId", "==", query.developer_id)
        )
        if query.principal_id is not None:
            request = request.where(
                filter=firestore.FieldFilter("principalId", "==", query.principal_id)
            )
        if query.service is not None:
            request = request.where(filter=firestore.FieldFilter("service", "==", query.service))
        if query.status is not None:
            request = request.where(filter=firestore.FieldFilter("status", "==", query.status))
        request = request.order_by("createdAt", direction=firestore.Query.DESCENDING).order_by(
            "__name__", direction=firestore.Query.DESCENDING
        )
        if query.after is not None:
            request = request.start_after(
                {
                    "createdAt": query.after[0],
                    "__name__": self._credentials.document(query.after[1]),
                }
            )
        request = request.limit(query.limit)
        snapshots = self._gw.call(
            lambda: list(request.stream(retry=self._gw.retry, timeout=self._gw.timeout))
        )
        return [
            credential_from(snapshot.id, snapshot.to_dict() or {}, snapshot.update_time)
            for snapshot in snapshots
        ]

    def delete(self, developer_id: str, credential_id: str, audit_for: AuditFactory) -> bool:
        # Read (to confirm the owner), then delete on the condition that the document
        # has not changed since: a concurrent store in between makes us look again.
        reference = self._credentials.document(credential_id)
        for _ in range(_DELETE_ATTEMPTS):
            snapshot = self._gw.call(
                lambda: reference.get(retry=self._gw.retry, timeout=self._gw.timeout)
            )
            stored = owned_credential(snapshot, developer_id)
            if stored is None:
                return False
            audit = audit_for(credential_id, stored.principal_id, stored.service)
            batch = self._gw.client.batch()
            batch.delete(
                reference,
                option=self._gw.client.write_option(last_update_time=snapshot.update_time),
            )
            batch.set(self._audit.document(audit.entry_id), audit_document(audit))
            try:
                batch.commit(retry=self._gw.retry, timeout=self._gw.timeout)
            except google_errors.FailedPrecondition:
                # Either the record changed since we read it (look again), or a retry of
                # a commit that did land found it gone: then our audit entry exists.
                audit_ref = self._audit.document(audit.entry_id)
                landed = self._gw.call(
                    partial(audit_ref.get, retry=self._gw.retry, timeout=self._gw.timeout)
                )
                if landed.exists:
                    return True
                continue
            except (google_errors.GoogleAPICallError, google_errors.RetryError):
                raise DependencyUnavailable(reason=FIRESTORE_UNAVAILABLE) from None
            return True
        raise DependencyUnavailable(
            "the credential kept changing, retry later", reason="firestore_contention"
        )

    def erase(self, developer_id: str, principal_id: str, audit_for: AuditFactory) -> int:
        request = (
            self._credentials.where(filter=firestore.FieldFilter("developerId", "==", developer_id))
            .where(filter=firestore.FieldFilter("principalId", "==", principal_id))
            .select(["service"])
        )
        snapshots = self._gw.call(
            lambda: list(request.stream(retry=self._gw.retry, timeout=self._gw.timeout))
        )
        per_batch = _WRITES_PER_BATCH // 2  # each credential: its delete and its audit entry
        for start in range(0, len(snapshots), per_batch):
            batch = self._gw.client.batch()
            for snapshot in snapshots[start : start + per_batch]:
                service = (snapshot.to_dict() or {}).get("service", "")
                entry = audit_for(snapshot.id, principal_id, service)
                batch.delete(snapshot.reference)
                batch.set(self._audit.document(entry.entry_id), audit_document(entry))
            self._gw.call(partial(batch.commit, retry=self._gw.retry, timeout=self._gw.timeout))
        return len(snapshots)

    def exchange_lookup(
        self,
        developer_id: str,
        credential_id: str,
        grant_id: str | None,
        token_id: str,
        parent_grant_id: str | None = None,
    ) -> ExchangeLookup:
        client = self._gw.client
        credential_ref = self._credentials.document(credential_id)
        denylist_refs = [client.collection(DENYLISTS["token"]).document(denylist_id(token_id))]
        denylist_refs += [
            client.collection(DENYLISTS["grant"]).document(denylist_id(grant))
            for grant in dict.fromkeys((grant_id, parent_grant_id))
            if grant is not None
        ]
        snapshots = self._gw.call(
            lambda: list(
                client.get_all(
                    [credential_ref, *denylist_refs],
                    retry=self._gw.retry,
                    timeout=self._gw.timeout,
                )
            )
        )
        credential = None
        revoked = False
        for snapshot in snapshots:
            if snapshot.reference.path == credential_ref.path:
                credential = owned_credential(snapshot, developer_id)
            elif snapshot.exists:
                revoked = True
        return ExchangeLookup(credential, revoked)

    def record(self, audit: AuditEntry) -> None:
        reference = self._audit.document(audit.entry_id)
        document = audit_document(audit)
        self._gw.call(
            lambda: reference.set(document, retry=self._gw.retry, timeout=self._gw.timeout)
        )

    def revoke(self, kind: str, identifier: str, expires_at: int) -> None:
        reference = self._gw.client.collection(DENYLISTS[kind]).document(denylist_id(identifier))
        document = {
            "identifier": identifier,
            # A Timestamp, so a Firestore TTL policy on this field can drop old entries.
            "expiresAt": datetime.fromtimestamp(expires_at / 1_000_000, tz=UTC),
        }
        self._gw.call(
            lambda: reference.set(document, retry=self._gw.retry, timeout=self._gw.timeout)
        )

    def audit_entries(self, developer_id: str) -> Sequence[AuditEntry]:
        query = self._audit.where(filter=firestore.FieldFilter("developerId", "==", developer_id))
        snapshots = self._gw.call(
            lambda: list(query.stream(retry=self._gw.retry, timeout=self._gw.timeout))
        )
        entries = [
            audit_entry_from(snapshot.id, snapshot.to_dict() or {}) for snapshot in snapshots
        ]
        return sorted(entries, key=lambda entry: (entry.at, entry.entry_id))

    def audit_page(self, query: AuditQuery) -> Sequence[AuditEntry]:
        # Served by the composite indexes on vaultAudit in firestore.indexes.json.
        request = self._audit.where(
            filter=firestore.FieldFilter("developerId", "==", query.developer_id)
        )
        for field, value in (
            ("credentialId", query.credential_id),
            ("principalId", query.principal_id),
            ("action", query.action),
        ):
            if value is not None:
                request = request.where(filter=firestore.FieldFilter(field, "==", value))
        if query.since is not None:
            request = request.where(filter=firestore.FieldFilter("at", ">=", query.since))
        request = request.order_by("at", direction=firestore.Query.DESCENDING).order_by(
            "__name__", direction=firestore.Query.DESCENDING
        )
        if query.after is not None:
            request = request.start_after(
                {"at": query.after[0], "__name__": self._audit.document(query.after[1])}
            )
        request = request.limit(query.limit)
        snapshots = self._gw.call(
            lambda: list(request.stream(retry=self._gw.retry, timeout=self._gw.timeout))
        )
        return [audit_entry_from(snapshot.id, snapshot.to_dict() or {}) for snapshot in snapshots]
