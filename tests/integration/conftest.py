"""Fixtures shared by the integration suites, on either backend: the HTTP test client
and a developer key, or the service below HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.http_app import make_client
from vault.bootstrap import Vault, build, get_vault
from vault.config import Settings
from vault.ports import ApiKeyRecord


@pytest.fixture
def vault(backend_env: dict[str, str]) -> Vault:
    return build(Settings.from_env())


@pytest.fixture
def caller(vault: Vault) -> ApiKeyRecord:
    return vault.keys.create("dev-1", "tests")[1]


@pytest.fixture
def client(backend_env: dict[str, str]) -> Any:
    """The real functions-framework app; every response is checked against OpenAPI."""
    return make_client()


@pytest.fixture
def api_key(client: Any) -> str:
    return get_vault().keys.create("dev-1", "tests")[0]
