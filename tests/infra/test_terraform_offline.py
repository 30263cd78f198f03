"""`terraform validate` and `terraform plan`, the real binary, offline: the providers are
stand-ins (tests/infra/standin) that serve the google provider's schema reconstructed
from the cdktf assembly, and hand-written archive and time schemas, over tfplugin5.

What this proves: Terraform itself accepts the module (every argument, type, block
count, reference, expression, for_each and validation), and plans exactly the
resources listed here from terraform.tfvars.example. What it cannot prove: that Google
accepts the values (a role name, a cron string, an IAM condition), what computed values
will be, and anything about apply (permissions, propagation, quotas); see
terraform/README.md "What the offline checks prove".
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.infra.provider_schema import ProviderSchema
from tests.infra.support import (
    INDEXES_FILE,
    REPO_ROOT,
    TERRAFORM_DIR,
    terraform_binary,
    unavailable,
)

PLAN_HINT = "pip install --no-deps -r requirements-infra.txt (inmanta-tfplugin, msgpack)"

# What terraform.tfvars.example plans, beside the Firestore indexes and field
# overrides (their keys come from firestore.indexes.json, counted below).
APIS = [
    "artifactregistry",
    "cloudbuild",
    "cloudfunctions",
    "cloudkms",
    "cloudresourcemanager",
    "cloudscheduler",
    "firestore",
    "iam",
    "logging",
    "run",
    "secretmanager",
    "storage",
]
PLANNED = {
    *(f'google_project_service.enabled["{api}.googleapis.com"]' for api in APIS),
    "time_sleep.apis",
    "time_sleep.grants",
    "google_artifact_registry_repository.function",
    "google_artifact_registry_repository_iam_member.build_writer",
    'google_cloud_run_v2_job.maintenance["refresh-due"]',
    'google_cloud_run_v2_job.maintenance["revocations-sync"]',
    'google_cloud_run_v2_job.maintenance["rewrap"]',
    'google_cloud_run_v2_job_iam_member.cron_runs["refresh-due"]',
    'google_cloud_scheduler_job.maintenance["refresh-due"]',
    "google_cloud_run_v2_service_iam_member.public_invoker",
    "google_cloudfunctions2_function.vault",
    "google_firestore_backup_schedule.weekly[0]",
    "google_firestore_database.vault",
    "google_kms_crypto_key.vault",
    "google_kms_crypto_key_iam_binding.vault_runtime",
    "google_kms_key_ring.vault",
    "google_project_iam_audit_config.kms_data_access",
    "google_project_iam_member.build_logs",
    "google_project_iam_member.build_source_reader",
    "google_project_iam_member.runtime_firestore",
    'google_secret_manager_secret.grantex["api-key"]',
    'google_secret_manager_secret.grantex["webhook-secret"]',
    'google_secret_manager_secret_iam_member.runtime_grantex["api-key"]',
    'google_secret_manager_secret_iam_member.runtime_grantex["webhook-secret"]',
    'google_secret_manager_secret_version.grantex_placeholder["api-key"]',
    'google_secret_manager_secret_version.grantex_placeholder["webhook-secret"]',
    "google_service_account.build",
    "google_service_account.cron",
    "google_service_account.runtime",
    "google_storage_bucket.source",
    "google_storage_bucket_object.source",
}


def firestore_addresses() -> set[str]:
    declared = json.loads(INDEXES_FILE.read_text())
    indexes = {
        " ".join([i["collectionGroup"], *(f"{f['fieldPath']}:{f['order']}" for f in i["fields"])])
        for i in declared["indexes"]
    }
    fields = {f"{o['collectionGroup']}.{o['fieldPath']}" for o in declared["fieldOverrides"]}
    return {f'google_firestore_index.composite["{key}"]' for key in indexes} | {
        f'google_firestore_field.overrides["{key}"]' for key in fields
    }


@pytest.fixture(scope="module")
def standins(tmp_path_factory: pytest.TempPathFactory, provider_schema: ProviderSchema) -> Any:
    try:
        import inmanta_tfplugin.tfplugin5_pb2  # noqa: F401
        import msgpack  # noqa: F401
    except ImportError:
        unavailable("the stand-in provider's protocol packages are not installed", PLAN_HINT)
    from tests.infra.standin.harness import StandIns

    root = tmp_path_factory.mktemp("offline")
    checkout = copy_of_the_repository(root / "repo")
    return StandIns.create(
        root / "plugins", terraform_binary(), provider_schema, checkout / "terraform"
    )


def copy_of_the_repository(target: Path) -> Path:
    """What the module reads: itself, the index file, and the source it zips."""
    target.mkdir(parents=True)
    for name in ("main.py", "requirements.txt", "firestore.indexes.json"):
        shutil.copy(REPO_ROOT / name, target / name)
    shutil.copytree(
        REPO_ROOT / "vault", target / "vault", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(
        TERRAFORM_DIR,
        target / "terraform",
        ignore=shutil.ignore_patterns(
            ".terraform", ".build", "*.tfstate*", "terraform.tfvars", "*_override.tf"
        ),
    )
    return target


def module_copy(standins: Any, name: str) -> Path:
    source = standins.directory.parent / "repo" / "terraform"
    copy = standins.directory.parent / "repo" / name
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("bootstrap"))
    return copy


RUNBOOK_OUTPUTS = ("kms_key", "kms_key_ring", "kms_location", "kms_project")


def test_validate_accepts_the_module(standins: Any) -> None:
    result = standins.run(module_copy(standins, "validate"), "validate", "-no-color")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "The configuration is valid" in result.stdout


def test_the_plan_of_the_example_creates_the_expected_resources(standins: Any) -> None:
    module = module_copy(standins, "plan")
    plan_file = module / "tfplan"

    planned = standins.run(
        module,
        "plan",
        "-no-color",
        "-input=false",
        "-var-file=terraform.tfvars.example",
        f"-out={plan_file}",
    )
    assert planned.returncode == 0, planned.stdout + planned.stderr
    shown = standins.run(module, "show", "-json", str(plan_file))
    assert shown.returncode == 0, shown.stderr
    plan = json.loads(shown.stdout)
    changes = plan["resource_changes"]
    created = {c["address"] for c in changes if c["mode"] == "managed"}
    outputs = plan["planned_values"]["outputs"]

    assert {c["change"]["actions"][0] for c in changes if c["mode"] == "managed"} == {"create"}
    assert created == PLANNED | firestore_addresses()
    assert len(created) == len(PLANNED) + len(firestore_addresses())
    # What the rotation runbook's gcloud commands take (SECURITY.md), known at plan time:
    # the example's name_prefix, region and project.
    assert {name: outputs[name]["value"] for name in RUNBOOK_OUTPUTS} == {
        "kms_key": "credentials",
        "kms_key_ring": "vault",
        "kms_location": "europe-west1",
        "kms_project": "my-vault-project",
    }


# Each edit breaks the module in a way only Terraform with the provider's schema sees.
MUTATIONS = {
    "a string for a number": (
        "function.tf",
        "max_instance_count               = var.max_instances",
        'max_instance_count               = "ten"',
        "a number is required",
    ),
    "a misspelt nested attribute reference": (
        "jobs.tf",
        "service_config[0].service",
        "service_config[0].servce",
        "Unsupported attribute",
    ),
    "two blocks where one is allowed": (
        "function.tf",
        "  versioning {\n    enabled = true\n  }\n",
        "  versioning {\n    enabled = true\n  }\n  versioning {\n    enabled = true\n  }\n",
        "Too many versioning blocks",
    ),
    "a bogus argument": (
        "kms.tf",
        '  purpose  = "ENCRYPT_DECRYPT"\n',
        '  purpose  = "ENCRYPT_DECRYPT"\n  bogus_argument = true\n',
        'An argument named "bogus_argument" is not expected here',
    ),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_validate_rejects_a_broken_copy(standins: Any, mutation: str) -> None:
    file_name, old, new, expected = MUTATIONS[mutation]
    module = module_copy(standins, "mutated-" + mutation.replace(" ", "-"))
    path = module / file_name
    text = path.read_text()
    assert text.count(old) == 1, f"{file_name} no longer has {old!r}: update the mutation"
    path.write_text(text.replace(old, new))

    result = standins.run(module, "validate", "-no-color")

    assert result.returncode != 0
    assert expected in " ".join((result.stdout + result.stderr).split()), result.stderr


BOOTSTRAP_PLANNED = {
    *(
        f'google_project_service.enabled["{api}.googleapis.com"]'
        for api in ("cloudbuild", "cloudresourcemanager", "iam", "storage")
    ),
    "google_service_account.deployer",
    "google_storage_bucket.state",
    "google_storage_bucket_iam_member.deployer_state",
    'google_project_iam_member.submitter_builds["group:vault-release-managers@example.com"]',
    'google_service_account_iam_member.submitter_act_as_deployer["group:vault-release-managers@example.com"]',
}


def test_the_bootstrap_validates_and_plans(
    tmp_path_factory: pytest.TempPathFactory, provider_schema: ProviderSchema, standins: Any
) -> None:
    from tests.infra.standin.harness import StandIns

    root = tmp_path_factory.mktemp("bootstrap")
    module = root / "bootstrap"
    shutil.copytree(
        TERRAFORM_DIR / "bootstrap",
        module,
        ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "terraform.tfvars"),
    )
    bootstrap = StandIns.create(root / "plugins", terraform_binary(), provider_schema, module)

    validated = bootstrap.run(module, "validate", "-no-color")
    planned = bootstrap.run(
        module,
        "plan",
        "-no-color",
        "-input=false",
        "-var-file=terraform.tfvars.example",
        "-out=tfplan",
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert planned.returncode == 0, planned.stdout + planned.stderr
    shown = json.loads(bootstrap.run(module, "show", "-json", "tfplan").stdout)
    created = {c["address"] for c in shown["resource_changes"] if c["mode"] == "managed"}
    grants = {a for a in created if a.startswith("google_project_iam_member.deployer[")}

    assert created - grants == BOOTSTRAP_PLANNED
    # The example keeps the key in the same project: each role once.
    assert len(grants) == 12
