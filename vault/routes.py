"""The route table and the endpoint handlers: parse, call the service, shape JSON."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import flask

from vault.audit import audit_route
from vault.errors import NotFound
from vault.grants import GrantClaims
from vault.models import (
    EraseQuery,
    ExchangeRequest,
    ListCredentialsQuery,
    ResolveRequest,
    StoreCredentialRequest,
    validate,
)
from vault.oauth.models import ProviderRequest
from vault.oauth.ports import ProviderRecord
from vault.ports import ApiKeyRecord, StoredCredential
from vault.timefmt import format_micros, now_micros

if TYPE_CHECKING:
    from vault.bootstrap import Vault
    from vault.config import Settings


@dataclass
class Call:
    request: flask.Request
    request_id: str
    path_params: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)
    caller: ApiKeyRecord | None = None
    grant: GrantClaims | None = None
    dpop: bool = False  # the grant token is key-bound and its DPoP proof was verified

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
    auth: Literal["api_key", "grant", "webhook", "none"]
    has_body: bool = False


@dataclass(frozen=True, slots=True)
class Route:
    operations: dict[str, Operation]
    describes_credentials: bool = True
    # A route that exists only when configured (404 otherwise, like an unknown path).
    available: Callable[[Settings], bool] | None = None
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
            "credentials": [_item(vault, stored) for stored in page.credentials],
            "nextCursor": page.next_cursor,
        },
    )


def erase_credentials(vault: Vault, call: Call) -> Reply:
    query = validate(EraseQuery, call.query())
    return Reply(
        200, {"deleted": vault.service.erase(call.key_record, query.principal_id, call.request_id)}
    )


def get_credential(vault: Vault, call: Call) -> Reply:
    return Reply(200, _item(vault, vault.service.get(call.key_record, call.path_params["id"])))


def refresh_credential(vault: Vault, call: Call) -> Reply:
    stored = vault.service.get(call.key_record, call.path_params["id"])
    return Reply(200, _item(vault, vault.refresher.refresh_now(stored, call.request_id)))


def delete_credential(vault: Vault, call: Call) -> Reply:
    vault.service.delete(call.key_record, call.path_params["id"], call.request_id)
    return Reply(204, None)


def exchange_credential(vault: Vault, call: Call) -> Reply:
    request = validate(ExchangeRequest, call.body)
    assert call.grant is not None, "the route declares auth='grant'"
    if request.delivery == "reference":
        referred = vault.exchange.refer(
            call.grant,
            request.service,
            call.request_id,
            min_validity_seconds=request.min_validity_seconds,
            dpop=call.dpop,
        )
        return Reply(
            200,
            {
                "credentialRef": referred.reference_id,
                **_described(referred),
                "referenceExpiresAt": format_micros(referred.reference_expires_at),
            },
        )
    released = vault.exchange.exchange(
        call.grant,
        request.service,
        call.request_id,
        min_validity_seconds=request.min_validity_seconds,
        dpop=call.dpop,
    )
    return Reply(
        200,
        {
            "accessToken": released.access_token,
            **_described(released),
        },
    )


class _Described(Protocol):  # Released, Referred, Resolved (frozen dataclasses)
    @property
    def service(self) -> str: ...
    @property
    def credential_type(self) -> str: ...
    @property
    def token_expires_at(self) -> int | None: ...
    @property
    def metadata_json(self) -> str | None: ...


def _described(released: _Described) -> dict[str, Any]:
    """What every answer that hands out a credential (or a reference) says about it."""
    return {
        "service": released.service,
        "credentialType": released.credential_type,
        "tokenExpiresAt": _timestamp(released.token_expires_at),
        "metadata": _metadata(released.metadata_json),
    }


def resolve_reference(vault: Vault, call: Call) -> Reply:
    request = validate(ResolveRequest, call.body)
    resolved = vault.references.resolve(
        call.key_record, request.credential_ref, request.grant_id, call.request_id
    )
    return Reply(
        200,
        {
            "accessToken": resolved.access_token,
            **_described(resolved),
            "grantId": resolved.grant_id,
            "principalId": resolved.principal_id,
            "agentDid": resolved.agent,
        },
    )


def grantex_webhook(vault: Vault, call: Call) -> Reply:
    assert vault.webhooks is not None, "the route is available only with a webhook secret"
    receipt = vault.webhooks.receive(call.body, call.request_id)
    return Reply(200, {"id": receipt.delivery_id, "status": receipt.status})


def openapi_document(vault: Vault, call: Call) -> Reply:
    return Reply(200, openapi())


@functools.cache
def openapi() -> dict[str, Any]:
    return dict(json.loads((Path(__file__).parent / "openapi.json").read_text()))


def put_provider(vault: Vault, call: Call) -> Reply:
    request = validate(ProviderRequest, call.body)
    record = vault.providers.put(
        call.key_record, call.path_params["service"], request, call.request_id
    )
    return Reply(200, _provider(record))


def get_provider(vault: Vault, call: Call) -> Reply:
    return Reply(200, _provider(vault.providers.get(call.key_record, call.path_params["service"])))


def list_providers(vault: Vault, call: Call) -> Reply:
    return Reply(200, {"providers": [_provider(r) for r in vault.providers.list(call.key_record)]})


def delete_provider(vault: Vault, call: Call) -> Reply:
    vault.providers.delete(call.key_record, call.path_params["service"], call.request_id)
    return Reply(204, None)


def _provider(record: ProviderRecord) -> dict[str, Any]:
    return {
        "service": record.service,
        "issuer": record.issuer,
        "tokenUrl": record.token_url,
        "clientId": record.client_id,
        "tokenAuthMethod": record.token_auth_method,
        "revocationUrl": record.revocation_url,
        "authorizationUrl": record.authorization_url,
        "scopes": list(record.scopes),
        "refreshLeewaySeconds": record.refresh_leeway_seconds,
        "hasClientSecret": record.client_secret is not None,
        "createdAt": format_micros(record.created_at),
        "updatedAt": format_micros(record.updated_at),
    }


def _last_error(last_error: str | None) -> dict[str, Any] | None:
    if last_error is None:
        return None
    error = json.loads(last_error)
    return {"code": error["code"], "message": error["message"], "at": format_micros(error["at"])}


def _item(vault: Vault, stored: StoredCredential) -> dict[str, Any]:
    return {
        "id": stored.credential_id,
        "principalId": stored.principal_id,
        "service": stored.service,
        "credentialType": stored.credential_type,
        "tokenExpiresAt": _timestamp(stored.token_expires_at),
        "hasRefreshToken": stored.refresh_token is not None,
        "status": vault.service.status_of(stored, now_micros()),
        "lastRefreshedAt": _timestamp(stored.last_refreshed_at),
        "lastError": _last_error(stored.last_error),
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
    "/v1/vault/credentials/resolve": Route(
        {"POST": Operation(resolve_reference, auth="api_key", has_body=True)}
    ),
    "/v1/vault/webhooks/grantex": Route(
        {"POST": Operation(grantex_webhook, auth="webhook", has_body=True)},
        describes_credentials=False,
        available=lambda settings: settings.grantex_webhook_secret is not None,
    ),
    "/v1/vault/audit": Route({"GET": Operation(audit_route, auth="api_key")}),
    "/v1/vault/providers": Route({"GET": Operation(list_providers, auth="api_key")}),
    "/openapi.json": Route(
        {"GET": Operation(openapi_document, auth="none")}, describes_credentials=False
    ),
}
_PATTERN_ROUTES: list[tuple[re.Pattern[str], Route]] = [
    (
        re.compile(r"/v1/vault/credentials/(?P<id>[^/]{1,128})/refresh"),
        Route({"POST": Operation(refresh_credential, auth="api_key")}),
    ),
    (
        re.compile(r"/v1/vault/providers/(?P<service>[^/]{1,128})"),
        Route(
            {
                "PUT": Operation(put_provider, auth="api_key", has_body=True),
                "GET": Operation(get_provider, auth="api_key"),
                "DELETE": Operation(delete_provider, auth="api_key"),
            }
        ),
    ),
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
