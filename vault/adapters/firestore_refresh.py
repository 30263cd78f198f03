"""The refresh lease on Cloud Firestore (mixed into ``FirestoreCredentialStore``).

Taking the lease is one conditional write: a precondition on the ``update_time`` the
exchange's lookup read, so of all instances that read the same version exactly one
wins (the others get FAILED_PRECONDITION and poll). The lease has an expiry
(``refreshLeaseUntil``): a crashed holder blocks the others at most that long. The
result is written with a precondition on the lease write's own ``update_time``, so a
store or erase made meanwhile is never overwritten by an older refresh.

A lease write whose reply is lost and whose retry then fails the precondition reads as
"not taken"; the lease then simply runs out.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from google.api_core import exceptions as google_errors
from google.cloud import firestore

from vault.adapters.firestore_codec import audit_document, credential_from
from vault.adapters.firestore_gateway import FirestoreGateway
from vault.errors import DependencyUnavailable
from vault.ports import KEEP, AuditEntry, RefreshCommit, StoredCredential


class FirestoreRefreshLease:
    _gw: FirestoreGateway
    _credentials: Any
    _audit: Any

    def expiring(
        self, before: int, limit: int, after: tuple[int, str] | None
    ) -> Sequence[StoredCredential]:
        # One range filter and its own order: Firestore's automatic single-field index.
        request = (
            self._credentials.where(filter=firestore.FieldFilter("tokenExpiresAt", "<", before))
            .order_by("tokenExpiresAt")
            .order_by("__name__")
        )
        if after is not None:
            request = request.start_after(
                {"tokenExpiresAt": after[0], "__name__": self._credentials.document(after[1])}
            )
        request = request.limit(limit)
        snapshots = self._gw.call(
            lambda: list(request.stream(retry=self._gw.retry, timeout=self._gw.timeout))
        )
        return [
            credential_from(snapshot.id, snapshot.to_dict() or {}, snapshot.update_time)
            for snapshot in snapshots
        ]

    def begin_refresh(self, stored: StoredCredential, holder: str, now: int, until: int) -> object:
        """One conditional write: precondition on the update_time the lookup read, so of
        all instances that read the same version exactly one takes the lease. A lease
        left by a crashed holder runs out at ``until``; then the next reader takes it."""
        if stored.revision is None or (stored.lease_until is not None and stored.lease_until > now):
            return None
        reference = self._credentials.document(stored.credential_id)
        option = self._gw.client.write_option(last_update_time=stored.revision)
        try:
            result = reference.update(
                {"refreshLeaseHolder": holder, "refreshLeaseUntil": until},
                option=option,
                retry=self._gw.retry,
                timeout=self._gw.timeout,
            )
        except (google_errors.FailedPrecondition, google_errors.NotFound):
            return None  # another instance changed it first (or it is gone)
        except (google_errors.GoogleAPICallError, google_errors.RetryError):
            raise DependencyUnavailable() from None
        return result.update_time

    def finish_refresh(self, commit: RefreshCommit, revision: object, audit: AuditEntry) -> bool:
        fields: dict[str, Any] = {
            "status": commit.status,
            "lastError": commit.last_error,
            "refreshLeaseHolder": None,
            "refreshLeaseUntil": None,
            "updatedAt": commit.now,
        }
        if commit.access_token is not None:
            fields.update(
                accessToken=commit.access_token,
                tokenExpiresAt=commit.token_expires_at,
                lastRefreshedAt=commit.now,
            )
            if commit.refresh_token is not KEEP:
                fields["refreshToken"] = commit.refresh_token
        batch = self._gw.client.batch()
        batch.update(
            self._credentials.document(commit.credential_id),
            fields,
            option=self._gw.client.write_option(last_update_time=revision),
        )
        batch.set(self._audit.document(audit.entry_id), audit_document(audit))
        try:
            batch.commit(retry=self._gw.retry, timeout=self._gw.timeout)
        except (google_errors.FailedPrecondition, google_errors.NotFound):
            # Changed since the lease (a store, an erase), or a retried commit that had
            # landed: then our audit entry exists.
            audit_ref = self._audit.document(audit.entry_id)
            landed = self._gw.call(
                partial(audit_ref.get, retry=self._gw.retry, timeout=self._gw.timeout)
            )
            return bool(landed.exists)
        except (google_errors.GoogleAPICallError, google_errors.RetryError):
            raise DependencyUnavailable() from None
        return True
