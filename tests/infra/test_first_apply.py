"""A fresh project's first apply: nothing calls an API before it has had time to be
enabled, and nothing uses an identity before its grants have propagated."""

from __future__ import annotations

from tests.infra.hcl import Block, TerraformConfig, expression

# Grants the function, the jobs and their builds rely on from their first request.
GRANTS_TO_WAIT_FOR = {
    "google_project_iam_member.runtime_firestore",
    "google_kms_crypto_key_iam_binding.vault_runtime",
    "google_secret_manager_secret_iam_member.runtime_grantex",
    "google_project_iam_member.build_logs",
    "google_project_iam_member.build_source_reader",
    "google_artifact_registry_repository_iam_member.build_writer",
    "google_service_account_iam_member.deployer_act_as",
}


def depends_on(block: Block) -> set[str]:
    return {expression(item) for item in block.body.get("depends_on", [])}


def test_the_time_provider_is_pinned(terraform_config: TerraformConfig) -> None:
    (providers,) = terraform_config.settings()["required_providers"]

    assert providers["time"]["source"] == '"hashicorp/time"'


def test_api_users_wait_for_the_apis_not_for_their_enablement(
    terraform_config: TerraformConfig,
) -> None:
    sleep = terraform_config.resource("time_sleep", "apis")
    waiting = [b for b in terraform_config.resources() if "time_sleep.apis" in depends_on(b)]

    assert {"google_project_service.enabled", "google_project_service.kms_project"} <= (
        depends_on(sleep)
    )
    assert sleep.body["create_duration"] == '"60s"'
    assert {"google_firestore_database", "google_kms_key_ring", "google_service_account"} <= {
        b.type for b in waiting
    }
    assert [
        b.address
        for b in terraform_config.resources()
        if b.type != "time_sleep" and "google_project_service.enabled" in depends_on(b)
    ] == []


def test_the_function_and_the_jobs_wait_for_the_grants(
    terraform_config: TerraformConfig,
) -> None:
    sleep = terraform_config.resource("time_sleep", "grants")
    function = terraform_config.resource("google_cloudfunctions2_function", "vault")
    jobs = terraform_config.resource("google_cloud_run_v2_job", "maintenance")
    scheduler = terraform_config.resource("google_cloud_scheduler_job", "maintenance")

    assert depends_on(sleep) == GRANTS_TO_WAIT_FOR
    for user in (function, jobs, scheduler):
        assert "time_sleep.grants" in depends_on(user), user.address


def test_the_project_number_is_known_at_plan(terraform_config: TerraformConfig) -> None:
    # A data source with depends_on is read at apply when that resource changes: its
    # number would be unknown, and every grant whose condition names it replaced.
    (project,) = [b for b in terraform_config.blocks("data") if b.type == "google_project"]

    assert "depends_on" not in project.body
