"""Operator commands that look, never touch: ``credentials list|get`` and ``audit list``.

One JSON object per line on stdout, the fields the API shows (and the developer id);
never a token, refresh token or key. Without ``--developer`` they cover every developer
that has (or had) an API key: the vault knows its developers only through their keys.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from vault.timefmt import format_micros, now_micros

if TYPE_CHECKING:
    from vault.bootstrap import Vault
    from vault.ports import StoredCredential

_PAGE = 100


def register(commands: Any) -> None:
    credentials = commands.add_parser(
        "credentials", help="stored credentials: metadata, status and expiry, never tokens"
    ).add_subparsers(required=True, metavar="ACTION")
    listing = credentials.add_parser("list", help="list credentials (JSON lines)")
    listing.add_argument("--developer", help="only this developer's credentials")
    listing.add_argument("--principal", help="only this principal's credentials")
    listing.add_argument(
        "--status",
        metavar="S",
        help="only those with this status, as the API shows it: active, expired, needs_reauth",
    )
    listing.add_argument(
        "--expiring-before",
        metavar="T",
        help="only those whose token expires before T (RFC 3339); expired ones included",
    )
    listing.set_defaults(run=_credentials_list)
    one = credentials.add_parser("get", help="one credential by id (JSON)")
    one.add_argument("credential_id", metavar="ID")
    one.add_argument("--developer", help="its developer (faster; found otherwise)")
    one.set_defaults(run=_credentials_get)

    audit = commands.add_parser("audit", help="the audit trail").add_subparsers(
        required=True, metavar="ACTION"
    )
    entries = audit.add_parser("list", help="audit entries, newest first (JSON lines)")
    entries.add_argument("--developer", help="only this developer's entries")
    entries.add_argument("--credential", metavar="ID", help="only entries about this credential")
    entries.add_argument("--since", metavar="T", help="only entries at or after T (RFC 3339)")
    entries.add_argument("--limit", type=int, default=1000, help="at most this many per developer")
    entries.set_defaults(run=_audit_list)


def _developers(vault: Vault, chosen: str | None) -> list[str]:
    if chosen is not None:
        return [chosen]
    return sorted({record.developer_id for record in vault.keys.list()})


def _credentials(
    vault: Vault, developer_id: str, principal_id: str | None, status: str | None = None
) -> Iterator[Any]:
    from vault.ports import PageQuery

    after = None
    while True:
        page = vault.credentials.list_page(
            PageQuery(developer_id, principal_id, None, _PAGE, after, status)
        )
        yield from page
        if len(page) < _PAGE:
            return
        after = (page[-1].created_at, page[-1].credential_id)


def _credentials_list(arguments: argparse.Namespace) -> int:
    from vault.bootstrap import get_vault
    from vault.models import (
        CREDENTIAL_STATUSES,
        ListCredentialsQuery,
        check_principal,
        parse_rfc3339,
    )
    from vault.service import stored_status_filter

    if arguments.status is not None and arguments.status not in CREDENTIAL_STATUSES:
        raise ValueError("--status must be one of " + ", ".join(CREDENTIAL_STATUSES))
    if arguments.expiring_before is not None:
        parse_rfc3339(arguments.expiring_before)  # a ValueError: one line, exit 2
    principal = None if arguments.principal is None else check_principal(arguments.principal)
    # The API's filters, applied by the service's own test to every page of the store.
    query = ListCredentialsQuery.model_validate(
        {"status": arguments.status, "expiringBefore": arguments.expiring_before}
    )
    vault = get_vault()
    matches = vault.service.matcher(query)
    for developer_id in _developers(vault, arguments.developer):
        for stored in _credentials(vault, developer_id, principal, stored_status_filter(query)):
            now = now_micros()
            if matches(stored, now):
                print(json.dumps(_credential(vault, stored, now)))
    return 0


def _credentials_get(arguments: argparse.Namespace) -> int:
    from vault.bootstrap import get_vault
    from vault.ids import is_credential_id

    if not is_credential_id(arguments.credential_id):
        raise ValueError("ID must be a credential id (vc_ and 32 characters)")
    vault = get_vault()
    for developer_id in _developers(vault, arguments.developer):
        stored = vault.credentials.get(developer_id, arguments.credential_id)
        if stored is not None:
            print(json.dumps(_credential(vault, stored, now_micros()), indent=2))
            return 0
    print(f"no credential {arguments.credential_id}", file=sys.stderr)
    return 1


def _audit_list(arguments: argparse.Namespace) -> int:
    from vault.audit import MAX_AUDIT_PAGE, audit_item
    from vault.bootstrap import get_vault
    from vault.ids import is_credential_id
    from vault.models import parse_rfc3339
    from vault.ports import AuditQuery

    if arguments.credential is not None and not is_credential_id(arguments.credential):
        raise ValueError("--credential must be a credential id (vc_ and 32 characters)")
    if not 1 <= arguments.limit <= MAX_AUDIT_PAGE:
        raise ValueError(f"--limit must be from 1 to {MAX_AUDIT_PAGE}")
    since = None if arguments.since is None else parse_rfc3339(arguments.since)
    vault = get_vault()
    for developer_id in _developers(vault, arguments.developer):
        query = AuditQuery(
            developer_id, arguments.credential, None, None, since, arguments.limit, None
        )
        for entry in vault.credentials.audit_page(query):
            print(json.dumps({"developerId": entry.developer_id, **audit_item(entry)}))
    return 0


def _credential(vault: Vault, stored: StoredCredential, now: int) -> dict[str, Any]:
    expires = stored.token_expires_at
    return {
        "id": stored.credential_id,
        "developerId": stored.developer_id,
        "principalId": stored.principal_id,
        "service": stored.service,
        "credentialType": stored.credential_type,
        "tokenExpiresAt": None if expires is None else format_micros(expires),
        "expired": expires is not None and expires <= now,
        "status": vault.service.status_of(stored, now),
        "hasRefreshToken": stored.refresh_token is not None,
        "createdAt": format_micros(stored.created_at),
        "updatedAt": format_micros(stored.updated_at),
    }
