"""terraform/bootstrap: the deployer Cloud Build runs as, with exactly the roles apply
needs, the state bucket, and who may deploy."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.infra.hcl import TerraformConfig, as_blocks, expression, literal, load_directory
from tests.infra.provider_schema import ProviderSchema
from tests.infra.support import CLOUDBUILD_FILE, INSTALL_HINT, TERRAFORM_DIR, unavailable

# What `terraform apply` of terraform/ creates, and so what the deployer may manage.
DEPLOYER_PROJECT_ROLES = {
    "roles/artifactregistry.admin",
    "roles/cloudfunctions.admin",
    "roles/cloudscheduler.admin",
    "roles/datastore.owner",
    "roles/iam.serviceAccountAdmin",
    "roles/logging.logWriter",
    "roles/resourcemanager.projectIamAdmin",
    "roles/run.admin",
    "roles/secretmanager.admin",
    "roles/serviceusage.serviceUsageAdmin",
    "roles/storage.admin",
}
DEPLOYER_KMS_ROLES = {
    "roles/cloudkms.admin",
    "roles/resourcemanager.projectIamAdmin",
    "roles/serviceusage.serviceUsageAdmin",
}


@pytest.fixture(scope="module")
def bootstrap() -> TerraformConfig:
    return load_directory(TERRAFORM_DIR / "bootstrap")


def deployer_locals(config: TerraformConfig) -> dict[str, Any]:
    (found,) = [b for b in config.unlabelled("locals") if "deployer_project_roles" in b]
    return found


def test_bootstrap_matches_the_provider_schema(
    bootstrap: TerraformConfig, provider_schema: ProviderSchema
) -> None:
    assert provider_schema.check(bootstrap) == []


def test_the_deployer_has_exactly_the_roles_apply_needs(bootstrap: TerraformConfig) -> None:
    found = deployer_locals(bootstrap)
    grant = bootstrap.resource("google_project_iam_member", "deployer")

    assert {literal(role) for role in found["deployer_project_roles"]} == DEPLOYER_PROJECT_ROLES
    assert {literal(role) for role in found["deployer_kms_roles"]} == DEPLOYER_KMS_ROLES
    assert expression(grant.body["for_each"]) == "local.deployer_grants"
    assert expression(grant.body["member"]) == "google_service_account.deployer.member"
    assert not [t for t in bootstrap.strings() if re.search(r"roles/(owner|editor|viewer)\b", t)]


def test_the_deployer_may_act_only_as_the_accounts_it_attaches(
    terraform_config: TerraformConfig,
) -> None:
    grant = terraform_config.resource("google_service_account_iam_member", "deployer_act_as")
    accounts = re.findall(r"google_service_account\.(\w+)\.name", grant.body["for_each"])
    project_wide = [
        b.address
        for b in terraform_config.resources("google_project_iam_member")
        if "serviceAccountUser" in str(b.body.get("role"))
    ]

    assert literal(grant.body["role"]) == "roles/iam.serviceAccountUser"
    assert sorted(accounts) == ["build", "cron", "runtime"]
    assert project_wide == []


def test_the_deployer_owns_the_state_objects(bootstrap: TerraformConfig) -> None:
    bucket = bootstrap.resource("google_storage_bucket", "state")
    grant = bootstrap.resource("google_storage_bucket_iam_member", "deployer_state")
    (versioning,) = as_blocks(bucket.body["versioning"])
    (lifecycle,) = as_blocks(bucket.body["lifecycle"])

    assert versioning["enabled"] is True
    assert bucket.body["uniform_bucket_level_access"] is True
    assert literal(bucket.body["public_access_prevention"]) == "enforced"
    assert lifecycle["prevent_destroy"] is True
    assert literal(grant.body["role"]) == "roles/storage.objectAdmin"
    assert expression(grant.body["bucket"]) == "google_storage_bucket.state.name"


def test_who_may_deploy_is_one_list(bootstrap: TerraformConfig) -> None:
    act_as = bootstrap.resource("google_service_account_iam_member", "submitter_act_as_deployer")
    submit = bootstrap.resource("google_project_iam_member", "submitter_builds")

    for grant in (act_as, submit):
        assert expression(grant.body["for_each"]) == "toset(var.build_submitters)"
    assert expression(act_as.body["service_account_id"]) == "google_service_account.deployer.name"
    assert literal(act_as.body["role"]) == "roles/iam.serviceAccountUser"
    assert literal(submit.body["role"]) == "roles/cloudbuild.builds.editor"


def test_cloud_build_runs_as_the_deployer(bootstrap: TerraformConfig) -> None:
    try:
        import yaml
    except ImportError:
        unavailable("PyYAML is not installed", INSTALL_HINT)
    build = yaml.safe_load(CLOUDBUILD_FILE.read_text())
    account = literal(bootstrap.resource("google_service_account", "deployer").body["account_id"])
    (plan,) = [step for step in build["steps"] if "plan" in step.get("args", [])]

    assert build["serviceAccount"] == (
        f"projects/$PROJECT_ID/serviceAccounts/{account}@$PROJECT_ID.iam.gserviceaccount.com"
    )
    assert build["options"]["logging"] == "CLOUD_LOGGING_ONLY"
    assert (
        f"TF_VAR_deployer_service_account={account}@$PROJECT_ID.iam.gserviceaccount.com"
        in plan["env"]
    )
