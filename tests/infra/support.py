"""Paths and tools shared by the offline infrastructure checks.

A check whose tool is missing is skipped on a laptop, with the reason, and fails when
``CI=true``: in CI nothing may pass by not running.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO_ROOT / "terraform"
CLOUDBUILD_FILE = REPO_ROOT / "cloudbuild.yaml"
INDEXES_FILE = REPO_ROOT / "firestore.indexes.json"

INSTALL_HINT = "pip install --no-deps -r requirements-infra.txt"
CHECKOV_HINT = (
    "python3 -m venv .venv-infra && "
    ".venv-infra/bin/pip install -r tests/infra/requirements-checkov.txt "
    "(or point CHECKOV_BIN at a checkov executable)"
)


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unavailable(what: str, hint: str) -> NoReturn:
    message = f"{what}; install it with: {hint}"
    if under_ci():
        pytest.fail(f"{message} (required when CI=true)", pytrace=False)
    pytest.skip(message)


def terraform_binary() -> str:
    found = os.environ.get("TERRAFORM_BIN") or shutil.which("terraform")
    if not found:
        unavailable("the terraform binary is not on PATH", "your OS package manager")
    return found


def checkov_binary() -> str:
    """CHECKOV_BIN, else the repository's .venv-infra, else ``checkov`` on PATH.

    checkov lives in a virtualenv of its own: it pins packaging<24 (pytest 9 needs
    >=24) and its bc-python-hcl2 installs a module named ``hcl2`` that would shadow
    python-hcl2, which the schema test uses.
    """
    candidates = [
        os.environ.get("CHECKOV_BIN", ""),
        str(REPO_ROOT / ".venv-infra" / "bin" / "checkov"),
        shutil.which("checkov") or "",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    unavailable("checkov is not installed", CHECKOV_HINT)
