"""Provider client secrets under rewrap, on both backends: the provider-secret source
(only providers with a secret, in order, in pages; replaces that lose to any write in
between), and a rotation end to end: rotate, rewrap, take the old version out of
service, and the provider still refreshes with its re-sealed secret."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.http_app import make_client
from tests.support.oauth_flow import SERVICE, exchange, register, store
from tests.support.oidc_provider import CLIENT_SECRET, OidcProvider
from tests.support.rotation import kms_of, rewrap, rotate, rotating_vault, take_out_of_service
from vault.bootstrap import Vault
from vault.keys.ports import SealedRecord, SealedRecordSource
from vault.keys.rewrap import Rewrap, RewrapPlan
from vault.keys.wiring import sealed_sources
from vault.oauth.models import ProviderRequest
from vault.oauth.providers import CLIENT_SECRET as FIELD
from vault.ports import ApiKeyRecord


@pytest.fixture
def vault(backend_env: dict[str, str]) -> Vault:
    return rotating_vault(backend_env)


@pytest.fixture
def caller(vault: Vault) -> ApiKeyRecord:
    return vault.keys.create("dev-1", "tests")[1]


def provider_source(vault: Vault) -> SealedRecordSource:
    (source,) = [s for s in sealed_sources(vault.settings)[0] if s.name == "provider_secrets"]
    return source


def put_provider(
    vault: Vault, caller: ApiKeyRecord, service: str, secret: str | None = "s3cr3t-1"
) -> None:
    body: dict[str, Any] = {"tokenUrl": "https://auth.example/token", "clientId": "cid"}
    if secret is None:
        body["tokenAuthMethod"] = "none"
    else:
        body["clientSecret"] = secret
    vault.providers.put(caller, service, ProviderRequest.model_validate(body), "req-test")


def opened_secret(vault: Vault, caller: ApiKeyRecord, service: str) -> str | None:
    """The secret as the OAuth client would get it, through the provider service."""
    return vault.providers.client_config(vault.providers.get(caller, service)).client_secret


def test_the_source_walks_only_providers_with_a_secret_in_order(vault, caller):
    other = vault.keys.create("dev-2", "tests")[1]
    for service in ("acme", "beta", "crux"):
        put_provider(vault, caller, service)
    put_provider(vault, caller, "public", secret=None)
    put_provider(vault, other, "acme")
    source = provider_source(vault)

    seen, after = [], None
    while page := source.scan(after, 2, None):
        assert len(page) <= 2
        seen += page
        after = page[-1].key
    only_dev_2 = source.scan(None, 10, "dev-2")

    keys = [record.key for record in seen]
    assert keys == sorted(keys) and len(set(keys)) == 4 == source.count(None)
    assert source.count("dev-1") == 3 and source.count("dev-2") == 1
    assert [record.developer_id for record in only_dev_2] == ["dev-2"]
    assert all(set(record.blobs) == {FIELD} for record in seen)
    by_developer = sorted(record.developer_id for record in seen)
    assert by_developer == ["dev-1", "dev-1", "dev-1", "dev-2"]


def test_replace_reseals_the_secret_and_the_provider_service_opens_it(vault, caller):
    put_provider(vault, caller, "acme", secret="s3cr3t-1")
    before = vault.providers.get(caller, "acme")
    source = provider_source(vault)
    (record,) = source.scan(None, 10, None)
    blobs = vault.envelope.seal(record.binding, {FIELD: b"s3cr3t-1"})

    assert source.replace(record, blobs) is True

    after = vault.providers.get(caller, "acme")
    assert after.client_secret == blobs[FIELD] != before.client_secret
    assert after.updated_at == before.updated_at  # re-sealing is no change of the provider
    assert opened_secret(vault, caller, "acme") == "s3cr3t-1"


def test_a_put_between_read_and_replace_wins(vault, caller):
    put_provider(vault, caller, "acme", secret="first")
    source = provider_source(vault)
    (record,) = source.scan(None, 10, None)
    put_provider(vault, caller, "acme", secret="second")

    resealed = vault.envelope.seal(record.binding, {FIELD: b"first"})
    assert source.replace(record, resealed) is False
    assert opened_secret(vault, caller, "acme") == "second"


def test_a_delete_between_read_and_replace_stays_deleted(vault, caller):
    put_provider(vault, caller, "acme")
    source = provider_source(vault)
    (record,) = source.scan(None, 10, None)
    vault.providers.delete(caller, "acme", "req-test")

    resealed = vault.envelope.seal(record.binding, {FIELD: b"s3cr3t-1"})
    assert source.replace(record, resealed) is False
    assert vault.providers.list(caller) == []
    assert source.count(None) == 0


class ChangedBeforeEachWrite:
    """The real provider-secret source, with a real put of the provider landing between
    the rewrap's read and its conditional write (once per record)."""

    def __init__(self, source: SealedRecordSource, change: Any) -> None:
        self.name = source.name
        self._source = source
        self._change = change
        self.count = source.count
        self.scan = source.scan

    def replace(self, record: SealedRecord, blobs: Any) -> bool:
        self._change(record)
        return self._source.replace(record, blobs)


def test_a_provider_changed_during_the_rewrap_is_skipped_not_overwritten(vault, caller, request):
    kms = kms_of(vault, request)
    put_provider(vault, caller, "acme", secret="old-secret")
    rotate(vault, kms)
    source = provider_source(vault)
    changing = ChangedBeforeEachWrite(
        source, lambda record: put_provider(vault, caller, "acme", secret="new-secret")
    )
    state = sealed_sources(vault.settings)[1]

    first = Rewrap(vault.envelope, [changing], state, vault.credentials.record).run(RewrapPlan())
    second = rewrap(vault)

    assert (first["scanned"], first["skipped_changed"], first["rewrapped"]) == (1, 1, 0)
    assert opened_secret(vault, caller, "acme") == "new-secret"
    # The put sealed the new secret under the primary: the next pass finds it current.
    assert (second["already_current"], second["rewrapped"], second["failed"]) == (1, 0, 0)


@pytest.fixture
def client(vault: Vault) -> Any:
    return make_client()


@pytest.fixture
def api_key(vault: Vault) -> str:
    return vault.keys.create("dev-1", "tests")[0]


def test_rotate_rewrap_retire_and_the_provider_still_refreshes(
    vault, client, api_key, oidc_provider: OidcProvider, issuer, request
):
    kms = kms_of(vault, request)
    register(client, api_key, oidc_provider)
    tokens = oidc_provider.tokens()
    store(client, api_key, tokens, expires_in_seconds=30)  # inside the leeway: refreshes
    caller = vault.keys.list("dev-1")[0]
    old = vault.providers.get(caller, SERVICE).client_secret
    rotate(vault, kms)

    summary = rewrap(vault, batch=10)

    assert (summary["scanned"], summary["rewrapped"], summary["failed"]) == (2, 2, 0)
    (record,) = provider_source(vault).scan(None, 10, None)
    assert record.blobs[FIELD] != old
    assert vault.envelope.open_all(record.binding, record.blobs)[1] is True  # under the primary
    if vault.settings.backend == "local":
        from vault.adapters.local_kms import LocalKeyFileAead
        from vault.keys.envelope import wrapped_key

        ring = LocalKeyFileAead(vault.settings.data_dir / "master.key")
        assert ring.version_of(wrapped_key(record.blobs[FIELD])) == 2
    take_out_of_service(vault, kms, 1)  # local: retire, refused if anything still used it
    assert opened_secret(vault, caller, SERVICE) == CLIENT_SECRET
    response = exchange(client, issuer)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["accessToken"] != tokens.access_token
    assert oidc_provider.refresh_requests() == 1  # the server took the re-sealed secret


@pytest.mark.parametrize("backend_env", ["local"], indirect=True)
def test_retire_is_refused_while_only_a_provider_secret_uses_the_version(vault, caller, capsys):
    from vault.__main__ import main

    put_provider(vault, caller, "acme")
    rotate(vault, None)
    capsys.readouterr()

    assert main(["keys", "list-master"]) == 0
    listed = capsys.readouterr().out
    assert '"version": 1, "primary": false' in listed and '"records": 1}' in listed
    assert main(["keys", "retire-master", "1"]) == 1
    assert "still wraps 1 record" in capsys.readouterr().err

    assert rewrap(vault)["rewrapped"] == 1
    assert main(["keys", "retire-master", "1"]) == 0
    assert opened_secret(vault, caller, "acme") == "s3cr3t-1"
