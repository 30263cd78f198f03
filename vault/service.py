"""The use cases. Depends only on ports: no HTTP, no Firestore, no KMS in here."""

from __future__ import annotations

import builtins
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from vault.cursors import cursor_secret, decode_cursor, encode_cursor
from vault.envelope import EnvelopeCipher
from vault.errors import NotFound
from vault.ids import credential_id, is_credential_id, record_binding
from vault.models import ListCredentialsQuery, StoreCredentialRequest, compact_json
from vault.ports import (
    DEFAULT_CREDENTIAL_TYPE,
    KEEP,
    ApiKeyRecord,
    AuditEntry,
    AuditFactory,
    CredentialStore,
    CredentialWrite,
    PageQuery,
    StoredCredential,
)
from vault.timefmt import now_micros

# Field names, used in the ciphertext's associated data; not secrets.
ACCESS_TOKEN = "accessToken"  # noqa: S105
REFRESH_TOKEN = "refreshToken"  # noqa: S105


@dataclass(frozen=True, slots=True)
class StoredSummary:
    credential_id: str
    principal_id: str
    service: str
    credential_type: str
    created_at: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class Page:
    credentials: list[StoredCredential]
    next_cursor: str | None


def stored_status_filter(query: ListCredentialsQuery) -> str | None:
    """The one status a store filters on itself: ``needs_reauth`` is stored, while
    ``expired`` depends on the time and on whether a provider could refresh."""
    return "needs_reauth" if query.status == "needs_reauth" else None


def new_audit_id() -> str:
    return "au_" + secrets.token_hex(12)


# Revokes records' tokens at their provider first; each record id -> the outcome that
# the delete's audit entry carries (vault.oauth.revocation).
Revoker = Callable[[list[StoredCredential]], dict[str, str]]
# The status the API shows for a record at a time (vault.oauth.refresh.Refresher).
StatusOf = Callable[[StoredCredential, int], str]
_SCAN_PAGES = 20  # a filtered list reads at most this many store pages per API page
_SCAN_PAGE_SIZE = 1000


class VaultService:
    def __init__(
        self,
        store: CredentialStore,
        envelope: EnvelopeCipher,
        revoker: Revoker | None = None,
        status_of: StatusOf | None = None,
    ) -> None:
        self._store = store
        self._envelope = envelope
        self._revoker = revoker
        self.status_of: StatusOf = status_of or (lambda stored, now: stored.status)

    def store(
        self, caller: ApiKeyRecord, request: StoreCredentialRequest, request_id: str
    ) -> StoredSummary:
        return self.store_as(caller.developer_id, caller.key_id, "store", request, request_id)

    def store_as(
        self,
        developer_id: str,
        actor: str,
        action: str,
        request: StoreCredentialRequest,
        request_id: str,
        outcome: str | None = None,
    ) -> StoredSummary:
        """A store on the developer's behalf; ``action`` names it in the audit trail
        (``store``, or ``connect`` when a connect session brought the tokens)."""
        record_id = credential_id(developer_id, request.principal_id, request.service)
        plaintexts = {ACCESS_TOKEN: request.access_token.encode("utf-8")}
        if request.refresh_token is not None:
            plaintexts[REFRESH_TOKEN] = request.refresh_token.encode("utf-8")
        sealed = self._envelope.seal(
            record_binding(developer_id, request.principal_id, request.service), plaintexts
        )
        now = now_micros()
        write = CredentialWrite(
            credential_id=record_id,
            developer_id=developer_id,
            principal_id=request.principal_id,
            service=request.service,
            access_token=sealed[ACCESS_TOKEN],
            refresh_token=sealed.get(REFRESH_TOKEN) if request.is_set("refresh_token") else KEEP,
            credential_type=request.credential_type if request.is_set("credential_type") else KEEP,
            metadata_json=(None if request.metadata is None else compact_json(request.metadata))
            if request.is_set("metadata")
            else KEEP,
            token_expires_at=request.expiry_micros(),
            now=now,
        )
        audit = AuditEntry(
            entry_id=new_audit_id(),
            action=action,
            developer_id=developer_id,
            actor=actor,
            credential_id=record_id,
            principal_id=request.principal_id,
            service=request.service,
            request_id=request_id,
            at=now_micros(),
            outcome=outcome,
        )
        result = self._store.upsert(write, audit)
        return StoredSummary(
            credential_id=record_id,
            principal_id=request.principal_id,
            service=request.service,
            credential_type=result.credential_type or DEFAULT_CREDENTIAL_TYPE,
            created_at=result.created_at,
            updated_at=result.updated_at,
        )

    def list(self, caller: ApiKeyRecord, query: ListCredentialsQuery) -> Page:
        developer_id = caller.developer_id
        secret = cursor_secret(caller)
        after = None
        if query.cursor is not None:
            after = decode_cursor(
                secret, developer_id, query.principal_id, query.service, query.cursor
            )
        found, scanned_to = self._matching(query, developer_id, after)
        page = list(found[: query.page_size])
        resume: tuple[int, str] | None = scanned_to
        if len(found) > query.page_size:
            resume = (page[-1].created_at, page[-1].credential_id)
        next_cursor = None
        if resume is not None:
            next_cursor = encode_cursor(
                secret, developer_id, query.principal_id, query.service, resume
            )
        return Page(page, next_cursor)

    def _matching(
        self, query: ListCredentialsQuery, developer_id: str, after: tuple[int, str] | None
    ) -> tuple[Sequence[StoredCredential], tuple[int, str] | None]:
        """Up to one more than the page (to learn whether another follows). Without the
        status or expiry filters that is one query; with them, store pages are read and
        filtered here until enough match (a bounded number of pages). When that budget
        runs out first, the position scanned to comes back too, so the caller's next
        cursor resumes there: a short page, never a silently truncated list."""
        wanted = query.page_size + 1
        stored_status = stored_status_filter(query)
        if query.status in (None, "needs_reauth") and query.expiring_before is None:
            page = self._store.list_page(
                PageQuery(
                    developer_id, query.principal_id, query.service, wanted, after, stored_status
                )
            )
            return list(page), None
        matches = self.matcher(query)
        now = now_micros()
        matched: list[StoredCredential] = []
        for _ in range(_SCAN_PAGES):
            batch = self._store.list_page(
                PageQuery(
                    developer_id,
                    query.principal_id,
                    query.service,
                    _SCAN_PAGE_SIZE,
                    after,
                    stored_status,
                )
            )
            for stored in batch:
                if not matches(stored, now):
                    continue
                matched.append(stored)
                if len(matched) == wanted:
                    return matched, None
            if len(batch) < _SCAN_PAGE_SIZE:
                return matched, None
            after = (batch[-1].created_at, batch[-1].credential_id)
        return matched, after  # the budget ran out: more may follow

    def matcher(self, query: ListCredentialsQuery) -> Callable[[StoredCredential, int], bool]:
        """The list's ``status`` and ``expiringBefore`` filters as a test of one record
        at a time (the API's list and the operator's ``credentials list`` share it)."""
        before = query.expiring_before_micros()

        def matches(stored: StoredCredential, now: int) -> bool:
            expires = stored.token_expires_at
            if before is not None and (expires is None or expires >= before):
                return False
            return query.status is None or self.status_of(stored, now) == query.status

        return matches

    def get(self, caller: ApiKeyRecord, record_id: str) -> StoredCredential:
        stored = (
            self._store.get(caller.developer_id, record_id) if is_credential_id(record_id) else None
        )
        if stored is None:
            raise NotFound("no such credential")
        return stored

    def delete(self, caller: ApiKeyRecord, record_id: str, request_id: str) -> None:
        audit_for = self._audit_factory(caller, "delete", request_id)
        if self._revoker is not None and is_credential_id(record_id):
            stored = self._store.get(caller.developer_id, record_id)
            if stored is None:
                raise NotFound("no such credential")
            audit_for = _with_outcomes(audit_for, self._revoker([stored]))
        if not is_credential_id(record_id) or not self._store.delete(
            caller.developer_id, record_id, audit_for
        ):
            raise NotFound("no such credential")

    def erase(self, caller: ApiKeyRecord, principal_id: str, request_id: str) -> int:
        audit_for = self._audit_factory(caller, "erase", request_id)
        if self._revoker is not None:
            audit_for = _with_outcomes(
                audit_for, self._revoker(self._principal_records(caller, principal_id))
            )
        deleted = self._store.erase(caller.developer_id, principal_id, audit_for)
        if deleted == 0:
            # Every erase is audited, also one that found nothing to delete.
            nothing = replace(audit_for("", principal_id, ""), credential_id=None, service=None)
            self._store.record(nothing)
        return deleted

    def _principal_records(
        self, caller: ApiKeyRecord, principal_id: str
    ) -> builtins.list[StoredCredential]:
        records: list[StoredCredential] = []
        after = None
        while True:
            page = self._store.list_page(
                PageQuery(caller.developer_id, principal_id, None, 1000, after)
            )
            records.extend(page)
            if len(page) < 1000:
                return records
            after = (page[-1].created_at, page[-1].credential_id)

    @staticmethod
    def _audit_factory(caller: ApiKeyRecord, action: str, request_id: str) -> AuditFactory:
        def entry(record_id: str, principal_id: str, service: str) -> AuditEntry:
            return AuditEntry(
                entry_id=new_audit_id(),
                action=action,
                developer_id=caller.developer_id,
                actor=caller.key_id,
                credential_id=record_id,
                principal_id=principal_id,
                service=service,
                request_id=request_id,
                at=now_micros(),
            )

        return entry


def _with_outcomes(audit_for: AuditFactory, outcomes: dict[str, str]) -> AuditFactory:
    def entry(record_id: str, principal_id: str, service: str) -> AuditEntry:
        return replace(audit_for(record_id, principal_id, service), outcome=outcomes.get(record_id))

    return entry
