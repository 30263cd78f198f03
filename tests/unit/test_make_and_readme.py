"""The Makefile and the README say what is true for a newcomer: `make help`, `make
bench` (needs wrk, writes to an ignored path unless asked), and the README's examples."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _make(*arguments: str) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    # -o: treat the setup prerequisites as up to date (no install from a test).
    skip_setup = ["-o", "setup", "-o", "dev-setup", "-o", ".venv/.runtime", "-o", ".venv/.bench"]
    result = subprocess.run(
        ["make", "--no-print-directory", *skip_setup, *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def test_make_help_lists_every_documented_target() -> None:
    listed = _make("help")

    for target in ("run", "run-gcp", "test", "lint", "typecheck", "bench", "bench-update"):
        assert re.search(rf"^  make {re.escape(target)} ", listed, re.MULTILINE), target
    assert "PORT=" in listed and "HOST=" in listed


def test_make_bench_writes_to_an_ignored_path_and_never_installs() -> None:
    bench = _make("-n", "bench")
    update = _make("-n", "bench-update")

    assert "apt-get install -y" not in bench and "apt-get update" not in bench
    assert "needs wrk" in bench and "needs wrk" in update
    out = re.search(r"--out (\S+)", bench)
    chart = re.search(r"--chart (\S+)", bench)
    assert out is not None and chart is not None
    for path in (out.group(1), chart.group(1)):
        ignored = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False)
        assert ignored.returncode == 0, f"{path} is not ignored by git"
    assert "--out" not in update  # the committed bench/results.json and docs/bench.png


def test_the_readme_examples_are_the_ones_that_work() -> None:
    assert "grantex._types" not in README
    assert "from grantex import Grantex, StoreCredentialParams" in README
    years = [int(year) for year in re.findall(r'"tokenExpiresAt": "(\d{4})-', README)]
    assert years and min(years) >= 2090
    assert "../shared" not in README
    assert "PORT=" in README and "HOST=" in README
    assert "back them up" in README and "master.key" in README
    assert "terraform" in README.split("### What `make test` runs")[0]


def test_the_python_example_imports_from_the_public_package() -> None:
    from grantex import Grantex, StoreCredentialParams  # noqa: F401 - what the README says
