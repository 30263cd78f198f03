"""Fixtures of the offline infrastructure checks: the parsed configuration and the
provider schema, each built once per session."""

from __future__ import annotations

import pytest

from tests.infra.hcl import TerraformConfig, load_directory
from tests.infra.provider_schema import ProviderSchema
from tests.infra.support import INSTALL_HINT, TERRAFORM_DIR, unavailable


@pytest.fixture(scope="session")
def terraform_config() -> TerraformConfig:
    return load_directory(TERRAFORM_DIR)


@pytest.fixture(scope="session")
def provider_schema() -> ProviderSchema:
    try:
        return ProviderSchema.from_installed_package()
    except LookupError as missing:
        unavailable(f"the google provider schema is not available ({missing})", INSTALL_HINT)
