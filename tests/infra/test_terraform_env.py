"""The deployed function: its environment is exactly the settings the vault reads (one
source of truth, vault/config.py), it runs the right entry point, and its source
archive holds the application and nothing else."""

from __future__ import annotations

import ast
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.infra.hcl import Block, TerraformConfig, as_blocks, expression, literal
from tests.infra.support import REPO_ROOT
from vault.config import SETTINGS


@pytest.fixture(scope="module")
def function(terraform_config: TerraformConfig) -> Block:
    (found,) = terraform_config.resources("google_cloudfunctions2_function")
    return found


def service_config(function: Block) -> dict[str, Any]:
    (config,) = as_blocks(function.body["service_config"])
    return config


def plain_environment(function: Block, config: TerraformConfig) -> dict[str, Any]:
    """environment_variables: a map, or a ``local.*`` holding one."""
    variables = service_config(function).get("environment_variables", {})
    if isinstance(variables, str):
        name = expression(variables).removeprefix("local.")
        (variables,) = [body[name] for body in config.unlabelled("locals") if name in body]
    assert isinstance(variables, dict), variables
    return dict(variables)


def deployed_environment(function: Block, config: TerraformConfig) -> dict[str, Any]:
    """The plain environment plus the secret ones (as ``"<secret>"``)."""
    environment = plain_environment(function, config)
    for secret in as_blocks(service_config(function).get("secret_environment_variables", [])):
        environment[literal(secret["key"])] = "<secret>"
    return environment


@pytest.fixture(scope="module")
def environment(function: Block, terraform_config: TerraformConfig) -> dict[str, Any]:
    return deployed_environment(function, terraform_config)


# Read by functions-framework's gunicorn, not by the vault: its threads per instance.
FRAMEWORK_SETTINGS = {"THREADS"}


def test_the_environment_is_exactly_the_deployed_settings(environment: dict[str, Any]) -> None:
    deployed = {spec.name for spec in SETTINGS if spec.deployed}

    names = set(environment) - FRAMEWORK_SETTINGS

    assert names - deployed == set(), "set in terraform/function.tf but not read by the app"
    assert deployed - names == set(), "read by the app but not set in terraform/function.tf"


def test_local_only_settings_are_not_deployed(environment: dict[str, Any]) -> None:
    local_only = {spec.name for spec in SETTINGS if not spec.deployed}

    assert local_only, "vault/config.py should mark emulator and laptop settings"
    assert local_only.isdisjoint(environment)


def test_the_environment_points_at_the_resources_terraform_creates(
    environment: dict[str, Any],
) -> None:
    assert literal(environment["VAULT_BACKEND"]) == "gcp"
    assert expression(environment["GOOGLE_CLOUD_PROJECT"]) == "var.project_id"
    assert re.fullmatch(r"google_kms_crypto_key\.\w+\.id", expression(environment["VAULT_KMS_KEY"]))
    assert re.fullmatch(
        r"google_firestore_database\.\w+\.name",
        expression(environment["VAULT_FIRESTORE_DATABASE"]),
    )
    assert expression(environment["VAULT_GRANT_AUDIENCE"]) == "var.grant_audience"


SECRET_SETTINGS = {
    "VAULT_GRANTEX_WEBHOOK_SECRET": "webhook-secret",
    "VAULT_GRANTEX_API_KEY": "api-key",
}
# Deliberately not the app's default: on Cloud Run one front end appends to
# X-Forwarded-For (README "The client address"), on a laptop none does.
DEPLOYMENT_DEFAULTS = {"VAULT_TRUSTED_PROXY_HOPS": "1"}
FEEDS = re.compile(r"^(?:tostring\()?var\.(\w+)\)?$")


def test_variables_default_to_the_apps_defaults(
    environment: dict[str, Any], terraform_config: TerraformConfig
) -> None:
    # A setting fed straight from a variable: an operator who sets nothing gets what the
    # app would do on its own (vault/config.py), not a second, drifting default.
    variables = terraform_config.variables()
    compared = []
    for spec in SETTINGS:
        value = environment.get(spec.name)
        if spec.default is None or not isinstance(value, str) or value.startswith('"'):
            continue
        fed = FEEDS.match(expression(value))
        if not fed:
            continue
        variable = variables[fed.group(1)]
        assert "description" in variable and "type" in variable, fed.group(1)
        expected = DEPLOYMENT_DEFAULTS.get(spec.name, spec.default)
        assert _as_setting(variable["default"]) == _as_setting(expected), spec.name
        compared.append(spec.name)

    assert {"VAULT_GRANT_LEEWAY_SECONDS", "VAULT_REFRESH_WAIT_SECONDS"} <= set(compared)


def _as_setting(value: Any) -> str:
    """A default as the app would read it: numbers without a redundant fraction, bools
    lowercase, strings unquoted."""
    value = literal(value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)) or (isinstance(value, str) and _is_number(value)):
        number = float(value)
        return str(int(number)) if number.is_integer() else str(number)
    return str(value)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_secrets_come_from_secret_manager_never_plain_variables(
    function: Block, terraform_config: TerraformConfig
) -> None:
    service = service_config(function)
    plain = set(plain_environment(function, terraform_config))
    secrets = {
        literal(block["key"]): block
        for block in as_blocks(service.get("secret_environment_variables", []))
    }

    assert plain.isdisjoint(SECRET_SETTINGS)
    assert set(secrets) == set(SECRET_SETTINGS)
    for name, block in secrets.items():
        assert expression(block["secret"]) == (
            f'google_secret_manager_secret.grantex["{SECRET_SETTINGS[name]}"].secret_id'
        )
        assert literal(block["version"]) == "latest"


def test_the_runtime_may_read_exactly_the_secrets_it_mounts(
    terraform_config: TerraformConfig,
) -> None:
    grants = [
        block
        for block in terraform_config.resources()
        if block.type.startswith("google_secret_manager_secret_iam")
        or (
            block.type == "google_project_iam_member"
            and "secretmanager" in str(block.body.get("role"))
        )
    ]

    (grant,) = grants
    assert grant.type == "google_secret_manager_secret_iam_member"
    assert expression(grant.body["for_each"]) == "google_secret_manager_secret.grantex"
    assert expression(grant.body["secret_id"]) == "each.value.secret_id"
    assert literal(grant.body["role"]) == "roles/secretmanager.secretAccessor"
    assert expression(grant.body["member"]) == "google_service_account.runtime.member"


def test_the_public_base_url_is_the_url_terraform_publishes(
    environment: dict[str, Any], terraform_config: TerraformConfig
) -> None:
    (local_values,) = [b for b in terraform_config.unlabelled("locals") if "run_app_url" in b]

    assert expression(environment["VAULT_PUBLIC_BASE_URL"]) == "local.public_base_url"
    # Cloud Run's deterministic URL, known before the function exists (its own url
    # attribute cannot feed its own environment: a cycle).
    assert local_values["run_app_url"] == (
        '"https://${var.name_prefix}-${data.google_project.this.number}.${var.region}.run.app"'
    )


def test_the_outputs_give_operators_what_they_need(terraform_config: TerraformConfig) -> None:
    outputs = terraform_config.outputs()

    # One canonical URL, the one the vault is configured with (DPoP htu).
    assert expression(outputs["url"]["value"]) == "local.public_base_url"
    assert expression(outputs["kms_key_name"]["value"]) == "google_kms_crypto_key.vault.id"
    assert expression(outputs["service_account_email"]["value"]) == (
        "google_service_account.runtime.email"
    )
    # terraform/README.md exports this to run `python -m vault keys create` against
    # the deployment: it must be the function's own environment.
    assert expression(outputs["cli_environment"]["value"]) == "local.function_environment"
    # The rotation runbook's `gcloud kms keys versions ... --key K --keyring R
    # --location L --project P` (SECURITY.md) takes each from the deployed key ring.
    assert expression(outputs["kms_key"]["value"]) == "google_kms_crypto_key.vault.name"
    assert expression(outputs["kms_key_ring"]["value"]) == "google_kms_key_ring.vault.name"
    assert expression(outputs["kms_location"]["value"]) == "google_kms_key_ring.vault.location"
    assert expression(outputs["kms_project"]["value"]) == "google_kms_key_ring.vault.project"
    for name, output in outputs.items():
        assert literal(output["description"]).strip(), name


def test_the_rotation_runbook_uses_outputs_that_exist(terraform_config: TerraformConfig) -> None:
    runbook = (REPO_ROOT / "SECURITY.md").read_text().split("### Runbook: retire a key version")[1]
    outputs = terraform_config.outputs()

    called = set(re.findall(r"\$\(out (\w+)\)", runbook))
    named = set(re.findall(r"`(\w+)` output|output `(\w+)`|outputs? `(\w+)`", runbook))

    assert called == {"kms_key", "kms_key_ring", "kms_location", "kms_project"}
    assert "$KEY" in runbook.split("2. **Rewrap")[0]  # step 1's gcloud uses them
    mentioned = called | {name for group in named for name in group if name}
    assert mentioned >= {"kms_key_name", "cli_environment", "service_account_email"}
    assert sorted(mentioned - set(outputs)) == []


def test_optional_settings_default_to_empty_not_null(terraform_config: TerraformConfig) -> None:
    # The app treats "" as unset; a null would drop the variable from the map.
    audience = terraform_config.variables()["grant_audience"]

    assert literal(audience["default"]) == ""
    assert audience["nullable"] is False


def test_the_build_runs_the_entry_point_main_py_defines(function: Block) -> None:
    (build,) = as_blocks(function.body["build_config"])
    tree = ast.parse((REPO_ROOT / "main.py").read_text())
    functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}

    assert literal(build["runtime"]) == "python312"
    assert literal(build["entry_point"]) == "vault"
    assert "vault" in functions


def test_the_function_runs_as_its_own_service_account(function: Block) -> None:
    config = service_config(function)

    assert expression(config["service_account_email"]) == "google_service_account.runtime.email"


def test_threads_follow_the_request_concurrency(
    function: Block, environment: dict[str, Any]
) -> None:
    service = service_config(function)

    assert expression(service["max_instance_request_concurrency"]) == "var.concurrency"
    assert expression(environment["THREADS"]) == "tostring(var.concurrency)"


# The archive's allow-list, as terraform/function.tf writes it (local.source_files).
SOURCE_FILES = (
    'sort(concat(["main.py", "requirements.txt"], [for file in fileset(local.source_root, '
    '"vault/**") : file if !strcontains(file, "__pycache__/") && !endswith(file, ".pyc")]))'
)


def shipped(files: list[str]) -> list[str]:
    """The same rule in Python: what local.source_files keeps of a list of files."""
    return sorted(
        path
        for path in files
        if path in ("main.py", "requirements.txt")
        or (path.startswith("vault/") and "__pycache__/" not in path and not path.endswith(".pyc"))
    )


def test_the_source_archive_is_an_allow_list(terraform_config: TerraformConfig) -> None:
    (archive,) = [b for b in terraform_config.blocks("data") if b.type == "archive_file"]
    (local_values,) = [b for b in terraform_config.unlabelled("locals") if "source_files" in b]
    (dynamic,) = archive.body["dynamic"]
    (content,) = as_blocks(dynamic['"source"']["content"])

    assert " ".join(expression(local_values["source_files"]).split()) == SOURCE_FILES
    assert expression(dynamic['"source"']["for_each"]) == "local.source_files"
    assert expression(content["filename"]) == "source.value"
    assert literal(archive.body["output_file_mode"]) == "0644"
    assert "source_dir" not in archive.body and "excludes" not in archive.body


def test_the_source_archive_holds_the_application_and_nothing_else() -> None:
    files = repository_files([".git", ".venv", ".venv-*", "node_modules", ".terraform"])
    junk = ["vault/__pycache__/config.cpython-312.pyc", "terraform/terraform.tfvars", ".env"]

    archived = shipped(files + junk)

    assert {"main.py", "requirements.txt", "vault/config.py", "vault/openapi.json"} <= set(archived)
    assert all(
        path in ("main.py", "requirements.txt") or path.startswith("vault/") for path in archived
    )
    assert not set(junk) & set(archived)
    # file() reads each as UTF-8 text: a binary file under vault/ would fail the plan.
    for path in archived:
        (REPO_ROOT / path).read_text(encoding="utf-8")


def repository_files(excludes: list[str]) -> list[str]:
    """What a deployer's checkout holds: git's tracked and unignored files, or (no git,
    as in Cloud Build) the files on disk outside the excluded directories."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        listed = []
        for directory, subdirectories, files in os.walk(REPO_ROOT):
            relative = Path(directory).relative_to(REPO_ROOT).as_posix()
            prefix = "" if relative == "." else relative + "/"
            subdirectories[:] = [d for d in subdirectories if not excluded(prefix + d, excludes)]
            listed += [prefix + name for name in files]
    return [path for path in listed if (REPO_ROOT / path).is_file()]


def excluded(path: str, patterns: list[str]) -> bool:
    """archive_file's rule (doublestar globs; a matching directory is skipped whole)."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: index + 1]) for index in range(len(parts))]
    return any(_glob(pattern).fullmatch(prefix) for pattern in patterns for prefix in prefixes)


def _glob(pattern: str) -> re.Pattern[str]:
    regex = ""
    index = 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            regex, index = regex + "(?:.*/)?", index + 3
        elif pattern.startswith("**", index):
            regex, index = regex + ".*", index + 2
        elif pattern[index] == "*":
            regex, index = regex + "[^/]*", index + 1
        elif pattern[index] == "?":
            regex, index = regex + "[^/]", index + 1
        else:
            regex, index = regex + re.escape(pattern[index]), index + 1
    return re.compile(regex)
