"""The security properties terraform/ promises, stated once as tests so that a change
that weakens one has to change a test too."""

from __future__ import annotations

import re

from tests.infra.hcl import TerraformConfig, as_blocks, expression, literal

BASIC_ROLES = re.compile(r"roles/(owner|editor|viewer)\b")
PUBLIC_MEMBERS = re.compile(r"\ball(Authenticated)?Users\b")


def test_every_variable_has_a_type_and_a_description(terraform_config: TerraformConfig) -> None:
    variables = terraform_config.variables()

    untyped = [name for name, body in variables.items() if "type" not in body]
    undescribed = [name for name, body in variables.items() if not body.get("description")]

    assert variables
    assert untyped == []
    assert undescribed == []


def test_the_key_rotates_at_least_every_90_days_and_cannot_be_destroyed(
    terraform_config: TerraformConfig,
) -> None:
    (key,) = terraform_config.resources("google_kms_crypto_key")
    (lifecycle,) = as_blocks(key.body["lifecycle"])
    rotation = terraform_config.variables()["kms_rotation_period"]

    assert expression(key.body["rotation_period"]) == "var.kms_rotation_period"
    assert literal(rotation["default"]) == "7776000s"
    assert "7776000" in rotation["validation"][0]["condition"]
    assert lifecycle["prevent_destroy"] is True


def test_only_the_runtime_service_account_may_use_the_key(
    terraform_config: TerraformConfig,
) -> None:
    grants = [
        block
        for block in terraform_config.resources()
        if block.type.startswith("google_kms_crypto_key_iam")
        or block.type.startswith("google_kms_key_ring_iam")
    ]

    (grant,) = grants
    assert grant.type == "google_kms_crypto_key_iam_binding"  # authoritative for the role
    assert literal(grant.body["role"]) == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
    assert [expression(m) for m in grant.body["members"]] == [
        "google_service_account.runtime.member"
    ]


def test_nothing_is_granted_above_the_project(terraform_config: TerraformConfig) -> None:
    above = [
        block.address
        for block in terraform_config.resources()
        if block.type.startswith(("google_organization_", "google_folder_", "google_billing_"))
    ]

    assert above == []


def test_no_basic_role_is_granted(terraform_config: TerraformConfig) -> None:
    assert [text for text in terraform_config.strings() if BASIC_ROLES.search(text)] == []


def test_only_the_invoker_grant_is_public(terraform_config: TerraformConfig) -> None:
    public = [
        block
        for block in terraform_config.resources()
        if any(PUBLIC_MEMBERS.search(str(value)) for value in block.body.values())
    ]

    assert [block.address for block in public] == [
        "google_cloud_run_v2_service_iam_member.public_invoker"
    ]
    assert literal(public[0].body["role"]) == "roles/run.invoker"


def test_the_source_bucket_is_private_and_versioned(terraform_config: TerraformConfig) -> None:
    (bucket,) = terraform_config.resources("google_storage_bucket")
    (versioning,) = as_blocks(bucket.body["versioning"])

    assert bucket.body["uniform_bucket_level_access"] is True
    assert literal(bucket.body["public_access_prevention"]) == "enforced"
    assert versioning["enabled"] is True


def test_apis_stay_enabled_on_destroy(terraform_config: TerraformConfig) -> None:
    services = terraform_config.resources("google_project_service")

    assert services
    for service in services:
        assert service.body["disable_on_destroy"] is False, service.address
        assert service.body["disable_dependent_services"] is False, service.address


def test_every_use_of_the_key_is_audited_where_the_key_lives(
    terraform_config: TerraformConfig,
) -> None:
    (audit,) = terraform_config.resources("google_project_iam_audit_config")
    (log_config,) = as_blocks(audit.body["audit_log_config"])
    ring = terraform_config.resource("google_kms_key_ring", "vault")

    assert literal(audit.body["service"]) == "cloudkms.googleapis.com"
    assert literal(log_config["log_type"]) == "DATA_READ"
    assert expression(audit.body["project"]) == "local.kms_project"
    assert expression(ring.body["project"]) == "local.kms_project"


def test_the_runtime_has_no_role_it_does_not_use(terraform_config: TerraformConfig) -> None:
    runtime_roles = [
        literal(block.body["role"])
        for block in terraform_config.resources("google_project_iam_member")
        if expression(block.body["member"]) == "google_service_account.runtime.member"
    ]

    assert runtime_roles == ["roles/datastore.user"]
