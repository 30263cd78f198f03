"""The route table and the endpoint handlers: parse, call the service, shape JSON."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import flask

from vault.errors import NotFound
from vault.grants import GrantClaims
from vault.models import (
    EraseQuery,
    ExchangeRequest,
    ListCredentialsQuery,
    StoreCredentialRequest,
    validate,
)
from vault.ports import ApiKeyRecord, StoredCredential
from vault.timefmt import format_micros

if TYPE_CHECKING:
    from vault.bootstrap import Vault


@dataclass
class Call:
    request: flask.Request
    request_id: str
    path_params: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)
    caller: ApiKeyRecord | None = None
    grant: GrantClaims | None = None

    @property
    def key_record(self) -> ApiKeyRecord:
        assert self.caller is not None, "the route declares auth='api_key'"
        return self.caller

    def query(self) -> dict[str, str]:
        return {name: self.request.args[name] for name in self.request.args}


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)
    # An HTML page sent instead of ``body`` (the connect routes); ``body`` then only
    # feeds the request log line.
    page: str | None = None


@dataclass(frozen=True, slots=True)
class Operation:
    run: Callable[[Vault, Call], Reply]
    auth: Literal["api_key", "grant", "none"]
    has_body: bool = False


@dataclass(frozen=True, slots=True)
class Route:
    operations: dict[str, Operation]
    describes_credentials: bool = True
    # Browser routes answer errors of the pipeline (405, 429, 5xx) as a page, too.
    error_page: Callable[[Reply], Reply] | None = None

    def allowed(self) -> tuple[str, ...]:
        methods = set(self.operations) | {"OPTIONS"}
        if "GET" in methods:
            methods.add("HEAD")
        return tuple(sorted(methods))


def store_credential(vault: Vault, call: Call) -> Reply:
    request = validate(StoreCredentialRequest, call.body)
    stored = vault.service.store(call.key_record, request, call.request_id)
    return Reply(
        201,
        {
            "id": stored.credential_id,
            "principalId": stored.principal_id,
            "service": stored.service,
            "credentialType": stored.credential_type,
            "createdAt": format_micros(stored.created_at),
            "updatedAt": format_micros(stored.updated_at),
        },
    )


def list_credentials(vault: Vault, call: Call) -> Reply:
    query = validate(ListCredentialsQuery, call.query())
    page = vault.service.list(call.key_record, query)
    return Reply(
        200,
        {
            "credentials": [_item(stored) for stored in page.credentials],
            "nextCursor": page.next_cursor,
        },
    )


def erase_credentials(vault: Vault, call: Call) -> Reply:
    query = validate(EraseQuery, call.query())
    return Reply(
        200, {"deleted": vault.service.erase(call.key_record, query.principal_id, call.request_id)}
    )


def get_credential(vault: Vault, call: Call) -> Reply:
    return Reply(200, _item(vault.service.get(call.key_record, call.path_params["id"])))


def delete_credential(vault: Vault, call: Call) -> Reply:
    vault.service.delete(call.key_record, call.path_params["id"], call.request_id)
    return Reply(204, None)


def exchange_credential(vault: Vault, call: Call) -> Reply:
    request = validate(ExchangeRequest, call.body)
    assert call.grant is not None, "the route declares auth='grant'"
    released = vault.exchange.exchange(call.grant, request.service, call.request_id)
    return Reply(
        200,
        {
            "accessToken": released.access_token,
            "service": released.service,
            "credentialType": released.credential_type,
            "tokenExpiresAt": _timestamp(released.token_expires_at),
            "metadata": _metadata(released.metadata_json),
        },
    )


def openapi_document(vault: Vault, call: Call) -> Reply:
    return Reply(200, openapi())


@functools.cache
def openapi() -> dict[str, Any]:
    return dict(json.loads((Path(__file__).parent / "openapi.json").read_text()))


def _item(stored: StoredCredential) -> dict[str, Any]:
    return {
        "id": stored.credential_id,
        "principalId": stored.principal_id,
        "service": stored.service,
        "credentialType": stored.credential_type,
        "tokenExpiresAt": _timestamp(stored.token_expires_at),
        "hasRefreshToken": stored.refresh_token is not None,
        "metadata": _metadata(stored.metadata_json),
        "createdAt": format_micros(stored.created_at),
        "updatedAt": format_micros(stored.updated_at),
    }


def _timestamp(micros: int | None) -> str | None:
    return None if micros is None else format_micros(micros)


def _metadata(metadata_json: str | None) -> dict[str, Any]:
    return {} if metadata_json is None else dict(json.loads(metadata_json))


_STATIC_ROUTES: dict[str, Route] = {
    "/v1/vault/credentials": Route(
        {
            "POST": Operation(store_credential, auth="api_key", has_body=True),
            "GET": Operation(list_credentials, auth="api_key"),
            "DELETE": Operation(erase_credentials, auth="api_key"),
        }
    ),
    "/v1/vault/credentials/exchange": Route(
        {"POST": Operation(exchange_credential, auth="grant", has_body=True)}
    ),
    "/openapi.json": Route(
        {"GET": Operation(openapi_document, auth="none")}, describes_credentials=False
    ),
}
_PATTERN_ROUTES: list[tuple[re.Pattern[str], Route]] = [
    (
        re.compile(r"/v1/vault/credentials/(?P<id>[^/]{1,128})"),
        Route(
            {
                "GET": Operation(get_credential, auth="api_key"),
                "DELETE": Operation(delete_credential, auth="api_key"),
            }
        ),
    ),
]


from vault.oauth import connect_routes  # noqa: E402 - it builds on the types above

_STATIC_ROUTES.update(connect_routes.STATIC_ROUTES)
_PATTERN_ROUTES.extend(connect_routes.PATTERN_ROUTES)


def match_route(path: str) -> tuple[Route, dict[str, str]]:
    route = _STATIC_ROUTES.get(path)
    if route is not None:
        return route, {}
    for pattern, candidate in _PATTERN_ROUTES:
        match = pattern.fullmatch(path)
        if match:
            return candidate, match.groupdict()
    raise NotFound("no such endpoint")
