"""Fixtures for the suites that drive the service below HTTP, on either backend."""

from __future__ import annotations

import pytest

from vault.bootstrap import Vault, build
from vault.config import Settings
from vault.ports import ApiKeyRecord


@pytest.fixture
def vault(backend_env: dict[str, str]) -> Vault:
    return build(Settings.from_env())


@pytest.fixture
def caller(vault: Vault) -> ApiKeyRecord:
    return vault.keys.create("dev-1", "tests")[1]
