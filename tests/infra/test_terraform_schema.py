"""Every google_* resource, data source, argument and nested block in terraform/ exists
in the pinned provider's schema, and every required argument is set: what
``terraform validate`` would say, without downloading the provider."""

from __future__ import annotations

import re

import pytest

from tests.infra.hcl import TerraformConfig, literal, load_text
from tests.infra.provider_schema import PACKAGE_VERSION, PROVIDER_VERSION, ProviderSchema
from tests.infra.support import TERRAFORM_DIR


def test_the_assembly_is_the_pinned_provider(provider_schema: ProviderSchema) -> None:
    assert provider_schema.package_version == PACKAGE_VERSION
    assert provider_schema.provider_version == PROVIDER_VERSION
    assert len(provider_schema.resources) > 1000
    assert provider_schema.provider_config


def test_versions_pin_terraform_and_the_providers(terraform_config: TerraformConfig) -> None:
    settings = terraform_config.settings()
    (providers,) = settings["required_providers"]

    assert literal(settings["required_version"]) == ">= 1.5.0"
    assert literal(providers["google"]["source"]) == "hashicorp/google"
    assert literal(providers["google"]["version"]) == ">= 6.50.0, < 7.0.0"
    assert literal(providers["archive"]["source"]) == "hashicorp/archive"
    assert PROVIDER_VERSION.startswith("6.")


def test_the_configuration_matches_the_provider_schema(
    terraform_config: TerraformConfig, provider_schema: ProviderSchema
) -> None:
    problems = provider_schema.check(terraform_config)

    assert problems == []


def test_the_check_covers_every_google_block(
    terraform_config: TerraformConfig, provider_schema: ProviderSchema
) -> None:
    checked = terraform_config.blocks("resource") + terraform_config.blocks("data")
    types = {block.type for block in checked if block.type.startswith("google_")}

    assert {"google_cloudfunctions2_function", "google_kms_crypto_key"} <= types
    assert types <= set(provider_schema.resources) | set(provider_schema.data_sources)


GOOD = """
resource "google_storage_bucket" "source" {
  name                        = "a-bucket"
  location                    = var.region
  uniform_bucket_level_access = true
  versioning {
    enabled = true
  }
  dynamic "lifecycle_rule" {
    for_each = [1]
    content {
      condition {
        age = 1
      }
      action {
        type = "Delete"
      }
    }
  }
  lifecycle {
    prevent_destroy = true
  }
}

output "bucket" {
  value = google_storage_bucket.source.url
}
"""

BROKEN = [
    pytest.param(
        ("uniform_bucket_level_access = true", "uniform_bucket_level_acess = true"),
        "unknown argument 'uniform_bucket_level_acess' "
        "(did you mean 'uniform_bucket_level_access'?)",
        id="misspelt-argument",
    ),
    pytest.param(
        ("    enabled = true", "    enable = true"),
        "google_storage_bucket.source.versioning: unknown argument 'enable'",
        id="misspelt-nested-argument",
    ),
    pytest.param(
        ("    enabled = true", "    enable = true"),
        "google_storage_bucket.source.versioning: required argument 'enabled' is not set",
        id="nested-required-argument-missing",
    ),
    pytest.param(
        ("  location                    = var.region\n", ""),
        "required argument 'location' is not set",
        id="required-argument-missing",
    ),
    pytest.param(
        ('        type = "Delete"', '        kind = "Delete"'),
        "google_storage_bucket.source.lifecycle_rule.action: unknown argument 'kind'",
        id="misspelt-argument-in-dynamic-content",
    ),
    pytest.param(
        ('dynamic "lifecycle_rule"', 'dynamic "lifecycle_rules"'),
        "no nested block 'lifecycle_rules' for dynamic",
        id="unknown-dynamic-block",
    ),
    pytest.param(
        ("  versioning {\n    enabled = true\n  }", "  versioning = { enabled = true }"),
        "'versioning' is a block",
        id="block-written-as-argument",
    ),
    pytest.param(
        ('"google_storage_bucket" "source"', '"google_storage_buckets" "source"'),
        "no resource type 'google_storage_buckets'",
        id="unknown-resource-type",
    ),
    pytest.param(
        ("google_storage_bucket.source.url", "google_storage_bucket.source.uri"),
        "google_storage_bucket has no attribute 'uri'",
        id="unknown-attribute-reference",
    ),
    pytest.param(
        ("google_storage_bucket.source.url", "google_storage_bucket.sources.url"),
        "reference to undeclared 'google_storage_bucket.sources.url'",
        id="undeclared-reference",
    ),
    pytest.param(
        ("prevent_destroy = true", "prevent_destroyed = true"),
        "lifecycle has no 'prevent_destroyed'",
        id="misspelt-lifecycle-argument",
    ),
]


def test_a_correct_snippet_passes(provider_schema: ProviderSchema) -> None:
    assert provider_schema.check(load_text(GOOD)) == []


@pytest.mark.parametrize(("edit", "expected"), BROKEN)
def test_a_broken_snippet_is_reported(
    provider_schema: ProviderSchema, edit: tuple[str, str], expected: str
) -> None:
    old, new = edit
    assert old in GOOD
    broken = load_text(GOOD.replace(old, new))

    problems = provider_schema.check(broken)

    assert any(expected in problem for problem in problems), problems


def test_the_real_function_fails_the_check_when_an_argument_is_misspelt(
    provider_schema: ProviderSchema,
) -> None:
    source = (TERRAFORM_DIR / "function.tf").read_text()
    misspelt = re.sub(r"\bentry_point\b", "entrypoint", source, count=1)
    assert misspelt != source, "function.tf no longer sets entry_point"

    problems = provider_schema.check(load_text(misspelt, "function.tf"))

    assert any("unknown argument 'entrypoint'" in problem for problem in problems), problems


def test_the_example_tfvars_sets_every_required_variable(
    terraform_config: TerraformConfig,
) -> None:
    variables = terraform_config.variables()
    required = {name for name, body in variables.items() if "default" not in body}
    parsed = load_text((TERRAFORM_DIR / "terraform.tfvars.example").read_text()).files["main.tf"]
    example = {name for name in parsed if not name.startswith("__")}

    assert example <= set(variables)
    assert required <= example
