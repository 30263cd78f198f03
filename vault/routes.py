"""The route table and the endpoint handlers: parse, call the service, shape JSON."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import flask

from vault.errors import NotFound
from vault.models import StoreCredentialRequest, validate
from vault.ports import ApiKeyRecord
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


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Operation:
    run: Callable[[Vault, Call], Reply]
    auth: Literal["api_key", "none"]
    has_body: bool = False


@dataclass(frozen=True, slots=True)
class Route:
    operations: dict[str, Operation]
    describes_credentials: bool = True

    def allowed(self) -> tuple[str, ...]:
        methods = set(self.operations) | {"OPTIONS"}
        if "GET" in methods:
            methods.add("HEAD")
        return tuple(sorted(methods))


def store_credential(vault: Vault, call: Call) -> Reply:
    request = validate(StoreCredentialRequest, call.body)
    assert call.caller is not None
    stored = vault.service.store(call.caller, request, call.request_id)
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


_STATIC_ROUTES: dict[str, Route] = {
    "/v1/vault/credentials": Route(
        {"POST": Operation(store_credential, auth="api_key", has_body=True)}
    ),
}
_PATTERN_ROUTES: list[tuple[re.Pattern[str], Route]] = []


def match_route(path: str) -> tuple[Route, dict[str, str]]:
    route = _STATIC_ROUTES.get(path)
    if route is not None:
        return route, {}
    for pattern, candidate in _PATTERN_ROUTES:
        match = pattern.fullmatch(path)
        if match:
            return candidate, match.groupdict()
    raise NotFound("no such endpoint")
