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


def deployed_environment(function: Block, config: TerraformConfig) -> dict[str, Any]:
    """environment_variables (a map, or a ``local.*`` holding one) plus any secret ones."""
    service = service_config(function)
    variables = service.get("environment_variables", {})
    if isinstance(variables, str):
        name = expression(variables).removeprefix("local.")
        (variables,) = [body[name] for body in config.unlabelled("locals") if name in body]
    assert isinstance(variables, dict), variables
    environment: dict[str, Any] = dict(variables)
    for secret in as_blocks(service.get("secret_environment_variables", [])):
        environment[literal(secret["key"])] = "<secret>"
    return environment


@pytest.fixture(scope="module")
def environment(function: Block, terraform_config: TerraformConfig) -> dict[str, Any]:
    return deployed_environment(function, terraform_config)


def test_the_environment_is_exactly_the_deployed_settings(environment: dict[str, Any]) -> None:
    deployed = {spec.name for spec in SETTINGS if spec.deployed}

    names = set(environment)

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


def test_the_outputs_give_operators_what_they_need(terraform_config: TerraformConfig) -> None:
    outputs = terraform_config.outputs()

    assert expression(outputs["url"]["value"]) == "google_cloudfunctions2_function.vault.url"
    assert expression(outputs["kms_key_name"]["value"]) == "google_kms_crypto_key.vault.id"
    assert expression(outputs["service_account_email"]["value"]) == (
        "google_service_account.runtime.email"
    )
    # terraform/README.md exports this to run `python -m vault keys create` against
    # the deployment: it must be the function's own environment.
    assert expression(outputs["cli_environment"]["value"]) == "local.function_environment"


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


def test_the_source_archive_holds_only_the_application(terraform_config: TerraformConfig) -> None:
    (archive,) = [b for b in terraform_config.blocks("data") if b.type == "archive_file"]
    excludes = [literal(pattern) for pattern in archive.body["excludes"]]

    shipped = sorted(path for path in repository_files(excludes) if not excluded(path, excludes))

    assert {"main.py", "requirements.txt", "vault/config.py"} <= set(shipped)
    application = [
        p for p in shipped if p in {"main.py", "requirements.txt"} or p.startswith("vault/")
    ]
    assert shipped == application, "add the others to data.archive_file.source's excludes"


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
