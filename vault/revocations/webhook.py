"""``POST /v1/vault/webhooks/grantex``: Grantex webhook deliveries.

The signature (``X-Grantex-Signature-V2`` = ``sha256=`` HMAC over
``<X-Grantex-Timestamp>.<raw body>``, 300 s tolerance) is checked by the grantex SDK's
``verify_webhook`` over the untouched body, before anything is parsed; the legacy
payload-only ``X-Grantex-Signature`` alone is refused (a captured delivery would replay
forever). A delivery id seen before is a no-op, and a ``grant.revoked`` delivery is
recorded with its denial and audit entry in ONE atomic write, so a retried or replayed
delivery never double-applies and a failed write leaves nothing behind.

``cascade`` needs no fan-out for one level: every exchange checks the token's
``parentGrnt`` against the same denylist, so the grants delegated directly from a
revoked grant are refused whether or not the delivery says ``cascade``. Deeper ones are
not: ``parentGrnt`` names only the immediate parent, the issuer sends one delivery for
the root of the tree it revoked, and the vault does not know the tree. Only a feed
entry (or an operator's ``grants revoke``) naming such a grant denies it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vault.errors import BadRequest, FieldError, Unauthorized
from vault.models import check_identifier
from vault.ports import AuditEntry, Denial, RevocationStore
from vault.service import new_audit_id
from vault.timefmt import now_micros

SIGNATURE_HEADER = "X-Grantex-Signature-V2"
TIMESTAMP_HEADER = "X-Grantex-Timestamp"
TOLERANCE_SECONDS = 300
VAULT_ACTOR = "grantex-webhook"


@dataclass(frozen=True, slots=True)
class Receipt:
    delivery_id: str
    status: str  # applied | duplicate | ignored


def verify_signature(body: bytes, headers: Any, secret: str) -> None:
    """401 unless the delivery is signed (V2) with our secret and fresh."""
    from grantex import verify_webhook

    signature = headers.get(SIGNATURE_HEADER, "")
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    if not signature or not timestamp:
        raise Unauthorized(reason="webhook_unsigned")
    if not (signature.isascii() and timestamp.isascii()):
        # the SDK's hmac.compare_digest raises TypeError on non-ASCII text
        raise Unauthorized(reason="webhook_bad_signature")
    if not verify_webhook(body, signature, timestamp, secret, tolerance_seconds=TOLERANCE_SECONDS):
        raise Unauthorized(reason="webhook_bad_signature")


class WebhookReceiver:
    def __init__(self, store: RevocationStore, keep_seconds: int) -> None:
        self._store = store
        self._keep = keep_seconds * 1_000_000

    def receive(self, event: dict[str, Any], request_id: str) -> Receipt:
        """``event`` is the verified body, already parsed as a JSON object."""
        delivery_id = _text(event, "id", "id")
        kind = _text(event, "type", "type")
        if kind != "grant.revoked":
            return Receipt(delivery_id, "ignored")  # nothing to change, nothing to record
        data = event.get("data")
        if not isinstance(data, dict):
            raise BadRequest(details=[FieldError("data", "must be an object")])
        grant_id = _text(data, "grantId", "data.grantId")
        cascade = data.get("cascade", False)
        if not isinstance(cascade, bool):
            raise BadRequest(details=[FieldError("data.cascade", "must be a boolean")])
        now = now_micros()
        audit = AuditEntry(
            entry_id=new_audit_id(),
            action="grant.revoke",
            developer_id="",  # the issuer's event: no developer of ours is the actor
            actor=VAULT_ACTOR,
            credential_id=None,
            principal_id="",
            service=None,
            request_id=request_id,
            at=now,
            outcome=f"grant={grant_id} cascade={str(cascade).lower()}",
        )
        applied = self._store.apply_delivery(
            delivery_id, [Denial("grant", grant_id, now + self._keep)], now + self._keep, audit
        )
        return Receipt(delivery_id, "applied" if applied else "duplicate")


def _text(container: dict[str, Any], name: str, field: str) -> str:
    value = container.get(name)
    if not isinstance(value, str):
        raise BadRequest(details=[FieldError(field, "must be a string")])
    try:
        return check_identifier(value)
    except ValueError as error:
        raise BadRequest(details=[FieldError(field, str(error))]) from None
