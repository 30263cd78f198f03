"""Cloud Firestore adapters: credentials, their audit trail, and API keys.

A store is ONE commit RPC, with no read first and no transaction:

* the document id is the credential id, derived from (developerId, principalId,
  service), so the write is a blind merge onto a known path;
* ``createdAt`` is written with a ``Minimum(now)`` transform: the first value stays,
  and the commit's ``transform_results`` hand the stored value back;
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

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from google.api_core import exceptions as google_errors
from google.api_core import retry as google_retry
from google.cloud import firestore

from vault.errors import DependencyUnavailable
from vault.ports import (
    DEFAULT_CREDENTIAL_TYPE,
    KEEP,
    ApiKeyRecord,
    AuditEntry,
    AuditFactory,
    CredentialWrite,
    ExchangeLookup,
    PageQuery,
    StoredCredential,
    WriteResult,
)

CREDENTIALS = "vaultCredentials"
AUDIT = "vaultAudit"
API_KEYS = "apiKeys"
DENYLISTS = {"grant": "revokedGrants", "token": "revokedTokens"}
_WRITES_PER_BATCH = 500  # Firestore's limit for one commit
_DELETE_ATTEMPTS = 3

_TYPE_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz._-"
_TYPE_BASE = len(_TYPE_ALPHABET) + 1  # 0 marks "no symbol"
_SYMBOLS_PER_CODE = 11  # 40**11 < 2**63
_TYPE_CODE_FIELDS = ("typeCode0", "typeCode1", "typeCode2")
_RETRYABLE = (google_errors.ServiceUnavailable, google_errors.Aborted)
_T = TypeVar("_T")


def type_codes(credential_type: str | None) -> list[int]:
    """Pack a credential type (<= 32 symbols) into three non-negative int64s."""
    text = credential_type or ""
    codes = []
    for start in range(0, len(_TYPE_CODE_FIELDS) * _SYMBOLS_PER_CODE, _SYMBOLS_PER_CODE):
        code = 0
        for symbol in text[start : start + _SYMBOLS_PER_CODE].ljust(_SYMBOLS_PER_CODE, "\0"):
            code = code * _TYPE_BASE + (0 if symbol == "\0" else _TYPE_ALPHABET.index(symbol) + 1)
        codes.append(code)
    return codes


def type_from_codes(codes: Sequence[int]) -> str | None:
    symbols: list[str] = []
    for code in codes:
        chunk: list[str] = []
        for _ in range(_SYMBOLS_PER_CODE):
            code, digit = divmod(code, _TYPE_BASE)
            if digit:
                chunk.append(_TYPE_ALPHABET[digit - 1])
        symbols.extend(reversed(chunk))
    return "".join(symbols) or None


class FirestoreGateway:
    """The client and the call policy: one deadline and one retry rule for all calls."""

    def __init__(self, client: firestore.Client, timeout: float) -> None:
        self.client = client
        self.timeout = timeout
        self.retry = google_retry.Retry(
            predicate=google_retry.if_exception_type(*_RETRYABLE),
            initial=0.05,
            maximum=1.0,
            multiplier=2.0,
            timeout=timeout,
        )

    def call(self, operation: Callable[[], _T]) -> _T:
        try:
            return operation()
        except (google_errors.GoogleAPICallError, google_errors.RetryError):
            raise DependencyUnavailable() from None


class FirestoreCredentialStore:
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
        }
        if write.credential_type is KEEP:
            document.update({field: firestore.Maximum(0) for field in _TYPE_CODE_FIELDS})
        else:
            document["credentialType"] = write.credential_type
            document.update(zip(_TYPE_CODE_FIELDS, type_codes(write.credential_type), strict=True))
        if write.refresh_token is not KEEP:
            document["refreshToken"] = write.refresh_token
        if write.metadata_json is not KEEP:
            document["metadata"] = write.metadata_json

        batch = self._gw.client.batch()
        batch.set(self._credentials.document(write.credential_id), document, merge=True)
        batch.set(self._audit.document(audit.entry_id), _audit_document(audit))
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
        return _owned_credential(snapshot, developer_id)

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
        return [_credential(snapshot.id, snapshot.to_dict() or {}) for snapshot in snapshots]

    def delete(self, developer_id: str, credential_id: str, audit_for: AuditFactory) -> bool:
        # Read (to confirm the owner), then delete on the condition that the document
        # has not changed since: a concurrent store in between makes us look again.
        reference = self._credentials.document(credential_id)
        for _ in range(_DELETE_ATTEMPTS):
            snapshot = self._gw.call(
                lambda: reference.get(retry=self._gw.retry, timeout=self._gw.timeout)
            )
            stored = _owned_credential(snapshot, developer_id)
            if stored is None:
                return False
            audit = audit_for(credential_id, stored.principal_id, stored.service)
            batch = self._gw.client.batch()
            batch.delete(
                reference,
                option=self._gw.client.write_option(last_update_time=snapshot.update_time),
            )
            batch.set(self._audit.document(audit.entry_id), _audit_document(audit))
            try:
                batch.commit(retry=self._gw.retry, timeout=self._gw.timeout)
            except google_errors.FailedPrecondition:
                continue
            except (google_errors.GoogleAPICallError, google_errors.RetryError):
                raise DependencyUnavailable() from None
            return True
        raise DependencyUnavailable("the credential kept changing, retry later")

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
                batch.set(self._audit.document(entry.entry_id), _audit_document(entry))
            self._gw.call(partial(batch.commit, retry=self._gw.retry, timeout=self._gw.timeout))
        return len(snapshots)

    def exchange_lookup(
        self, developer_id: str, credential_id: str, grant_id: str | None, token_id: str
    ) -> ExchangeLookup:
        client = self._gw.client
        credential_ref = self._credentials.document(credential_id)
        denylist_refs = [client.collection(DENYLISTS["token"]).document(_denylist_id(token_id))]
        if grant_id is not None:
            denylist_refs.append(
                client.collection(DENYLISTS["grant"]).document(_denylist_id(grant_id))
            )
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
                credential = _owned_credential(snapshot, developer_id)
            elif snapshot.exists:
                revoked = True
        return ExchangeLookup(credential, revoked)

    def record(self, audit: AuditEntry) -> None:
        reference = self._audit.document(audit.entry_id)
        document = _audit_document(audit)
        self._gw.call(
            lambda: reference.set(document, retry=self._gw.retry, timeout=self._gw.timeout)
        )

    def revoke(self, kind: str, identifier: str, expires_at: int) -> None:
        reference = self._gw.client.collection(DENYLISTS[kind]).document(_denylist_id(identifier))
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
        entries = [_audit_entry(snapshot.id, snapshot.to_dict() or {}) for snapshot in snapshots]
        return sorted(entries, key=lambda entry: (entry.at, entry.entry_id))


def _denylist_id(identifier: str) -> str:
    # Grant ids and jti values are arbitrary strings; document ids may not be.
    return hashlib.sha256(identifier.encode("utf-8")).hexdigest()


def _owned_credential(snapshot: Any, developer_id: str) -> StoredCredential | None:
    data = snapshot.to_dict() if snapshot.exists else None
    if data is None or data.get("developerId") != developer_id:
        return None
    return _credential(snapshot.id, data)


def _credential(credential_id: str, data: dict[str, Any]) -> StoredCredential:
    return StoredCredential(
        credential_id=credential_id,
        developer_id=data["developerId"],
        principal_id=data["principalId"],
        service=data["service"],
        credential_type=data.get("credentialType") or DEFAULT_CREDENTIAL_TYPE,
        access_token=data["accessToken"],
        refresh_token=data.get("refreshToken"),
        token_expires_at=data.get("tokenExpiresAt"),
        metadata_json=data.get("metadata"),
        created_at=data["createdAt"],
        updated_at=data["updatedAt"],
    )


def _audit_document(entry: AuditEntry) -> dict[str, Any]:
    return {
        "action": entry.action,
        "developerId": entry.developer_id,
        "actor": entry.actor,
        "credentialId": entry.credential_id,
        "principalId": entry.principal_id,
        "service": entry.service,
        "requestId": entry.request_id,
        "at": entry.at,
        "agent": entry.agent,
    }


def _audit_entry(entry_id: str, data: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        entry_id=entry_id,
        action=data["action"],
        developer_id=data["developerId"],
        actor=data["actor"],
        credential_id=data.get("credentialId"),
        principal_id=data["principalId"],
        service=data.get("service"),
        request_id=data["requestId"],
        at=data["at"],
        agent=data.get("agent"),
    )


class FirestoreApiKeyStore:
    """Collection ``apiKeys``; the document id is the key's SHA-256 digest."""

    def __init__(self, gateway: FirestoreGateway) -> None:
        self._gw = gateway
        self._keys = gateway.client.collection(API_KEYS)

    def create(self, record: ApiKeyRecord) -> None:
        reference = self._keys.document(record.digest)
        document = {
            "keyId": record.key_id,
            "developerId": record.developer_id,
            "name": record.name,
            "createdAt": record.created_at,
            "revokedAt": record.revoked_at,
        }
        self._gw.call(
            lambda: reference.create(document, retry=self._gw.retry, timeout=self._gw.timeout)
        )

    def find(self, digest: str) -> ApiKeyRecord | None:
        reference = self._keys.document(digest)
        snapshot = self._gw.call(
            lambda: reference.get(retry=self._gw.retry, timeout=self._gw.timeout)
        )
        return _key_record(snapshot.id, snapshot.to_dict()) if snapshot.exists else None

    def list(self, developer_id: str | None = None) -> Sequence[ApiKeyRecord]:
        query: Any = self._keys
        if developer_id is not None:
            query = query.where(filter=firestore.FieldFilter("developerId", "==", developer_id))
        snapshots = self._gw.call(
            lambda: list(query.stream(retry=self._gw.retry, timeout=self._gw.timeout))
        )
        records = [_key_record(snapshot.id, snapshot.to_dict()) for snapshot in snapshots]
        return sorted(records, key=lambda record: (record.created_at, record.key_id))

    def revoke(self, key_id: str, at: int) -> bool:
        query = self._keys.where(filter=firestore.FieldFilter("keyId", "==", key_id)).limit(1)
        snapshots = self._gw.call(
            lambda: list(query.stream(retry=self._gw.retry, timeout=self._gw.timeout))
        )
        if not snapshots or (snapshots[0].to_dict() or {}).get("revokedAt") is not None:
            return False
        reference = snapshots[0].reference
        self._gw.call(
            lambda: reference.update(
                {"revokedAt": at}, retry=self._gw.retry, timeout=self._gw.timeout
            )
        )
        return True


def _key_record(digest: str, data: dict[str, Any] | None) -> ApiKeyRecord:
    data = data or {}
    return ApiKeyRecord(
        key_id=data["keyId"],
        developer_id=data["developerId"],
        name=data.get("name", ""),
        digest=digest,
        created_at=data["createdAt"],
        revoked_at=data.get("revokedAt"),
    )
