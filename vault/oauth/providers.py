"""Providers: a developer's OAuth client for one service, registered once.

The client secret is sealed like a token (envelope, associated data binding developer,
service and the field name ``clientSecret``) and never leaves the vault: responses say
only ``hasClientSecret``. With ``issuer`` the endpoints come from the issuer's RFC 8414
or OpenID discovery document, resolved when the provider is saved.

Exchanges look providers up through a small per-instance cache (``ProviderDirectory``),
and only when a token is close enough to its expiry to need one: a warm exchange pays
no extra read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from vault.envelope import EnvelopeCipher
from vault.errors import BadRequest, FieldError, NotFound
from vault.ids import encode_parts
from vault.models import check_service
from vault.oauth.models import ProviderRequest, check_url
from vault.oauth.ports import (
    ClientConfig,
    OAuthClient,
    ProviderRecord,
    ProviderRefused,
    ProviderStore,
)
from vault.ports import ApiKeyRecord, AuditEntry
from vault.service import new_audit_id
from vault.timefmt import now_micros

CLIENT_SECRET = "clientSecret"  # noqa: S105 - the field name in the associated data


def provider_binding(developer_id: str, service: str) -> bytes:
    return encode_parts("vault.provider.v1", developer_id, service)


def _valid_service(service: str) -> str:
    try:
        return check_service(service)
    except ValueError as error:
        raise BadRequest("the request is not valid", [FieldError("service", str(error))]) from None


@dataclass(frozen=True, slots=True)
class _Endpoints:
    token_url: str
    revocation_url: str | None
    authorization_url: str | None


class ProviderService:
    def __init__(
        self,
        store: ProviderStore,
        envelope: EnvelopeCipher,
        oauth: OAuthClient,
        cache_seconds: float,
    ) -> None:
        self._store = store
        self._envelope = envelope
        self._oauth = oauth
        self.directory = ProviderDirectory(store, cache_seconds)

    def put(
        self, caller: ApiKeyRecord, service: str, request: ProviderRequest, request_id: str
    ) -> ProviderRecord:
        developer_id = caller.developer_id
        service = _valid_service(service)
        endpoints = self._endpoints(request)
        existing = self._store.get(developer_id, service)
        if request.client_secret is not None:
            secret: bytes | None = self._envelope.seal(
                provider_binding(developer_id, service),
                {CLIENT_SECRET: request.client_secret.encode("utf-8")},
            )[CLIENT_SECRET]
        else:
            secret = existing.client_secret if existing is not None else None
        now = now_micros()
        record = ProviderRecord(
            developer_id=developer_id,
            service=service,
            token_url=endpoints.token_url,
            client_id=request.client_id,
            token_auth_method=request.token_auth_method,
            revocation_url=endpoints.revocation_url,
            authorization_url=endpoints.authorization_url,
            scopes=tuple(request.scopes or ()),
            refresh_leeway_seconds=request.refresh_leeway_seconds,
            issuer=request.issuer,
            client_secret=secret,
            created_at=existing.created_at if existing is not None else now,
            updated_at=now,
        )
        self._store.put(record, _audit(caller, "provider.put", service, request_id))
        self.directory.forget(developer_id, service)
        return record

    def _endpoints(self, request: ProviderRequest) -> _Endpoints:
        if request.issuer is None:
            assert request.token_url is not None  # the model requires one of the two
            return _Endpoints(request.token_url, request.revocation_url, request.authorization_url)
        try:
            metadata = self._oauth.discover(request.issuer)
        except ProviderRefused:
            raise BadRequest(
                "the request is not valid",
                [FieldError("issuer", "has no usable RFC 8414 or OpenID discovery document")],
            ) from None

        def endpoint(explicit: str | None, name: str) -> str | None:
            value = explicit if explicit is not None else metadata.get(name)
            if value is None:
                return None
            try:
                return check_url(value) if isinstance(value, str) else None
            except ValueError as error:
                raise BadRequest(
                    "the request is not valid", [FieldError("issuer", f"{name} {error}")]
                ) from None

        token_url = endpoint(request.token_url, "token_endpoint")
        if token_url is None:
            raise BadRequest(
                "the request is not valid",
                [FieldError("issuer", "the discovery document names no token_endpoint")],
            )
        return _Endpoints(
            token_url,
            endpoint(request.revocation_url, "revocation_endpoint"),
            endpoint(request.authorization_url, "authorization_endpoint"),
        )

    def get(self, caller: ApiKeyRecord, service: str) -> ProviderRecord:
        found = self._store.get(caller.developer_id, _valid_service(service))
        if found is None:
            raise NotFound("no provider for this service")
        return found

    def list(self, caller: ApiKeyRecord) -> Sequence[ProviderRecord]:
        return self._store.list(caller.developer_id)

    def delete(self, caller: ApiKeyRecord, service: str, request_id: str) -> None:
        service = _valid_service(service)
        audit = _audit(caller, "provider.delete", service, request_id)
        if not self._store.delete(caller.developer_id, service, audit):
            raise NotFound("no provider for this service")
        self.directory.forget(caller.developer_id, service)

    def client_config(self, record: ProviderRecord) -> ClientConfig:
        """The OAuth client's view, the secret opened (IntegrityError if tampered)."""
        secret = None
        if record.client_secret is not None:
            secret = self._envelope.open(
                provider_binding(record.developer_id, record.service),
                CLIENT_SECRET,
                record.client_secret,
            ).decode("utf-8")
        return ClientConfig(
            token_url=record.token_url,
            client_id=record.client_id,
            client_secret=secret,
            token_auth_method=record.token_auth_method,
            revocation_url=record.revocation_url,
        )


class ProviderDirectory:
    """Provider lookups for refresh, cached per instance for ``cache_seconds`` (a change
    made on another instance is seen within that time; on this one at once)."""

    def __init__(self, store: ProviderStore, cache_seconds: float) -> None:
        self._store = store
        self._seconds = cache_seconds
        self._cache: dict[tuple[str, str], tuple[float, ProviderRecord | None]] = {}
        self._lock = threading.Lock()

    def find(self, developer_id: str, service: str) -> ProviderRecord | None:
        key = (developer_id, service)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        found = self._store.get(developer_id, service)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (time.monotonic() + self._seconds, found)
        return found

    def forget(self, developer_id: str, service: str) -> None:
        with self._lock:
            self._cache.pop((developer_id, service), None)


def _audit(caller: ApiKeyRecord, action: str, service: str, request_id: str) -> AuditEntry:
    return AuditEntry(
        entry_id=new_audit_id(),
        action=action,
        developer_id=caller.developer_id,
        actor=caller.key_id,
        credential_id=None,
        principal_id="",
        service=service,
        request_id=request_id,
        at=now_micros(),
    )
