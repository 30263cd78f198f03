"""``terraform fmt -check``: the configuration is in canonical form (no provider needed)."""

from __future__ import annotations

import subprocess

from tests.infra.support import REPO_ROOT, terraform_binary


def test_terraform_files_are_formatted() -> None:
    terraform = terraform_binary()

    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", "-no-color", "terraform"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, (
        "run `terraform fmt -recursive terraform`:\n" + result.stdout + result.stderr
    )
