"""The deployed dependency tree is pinned with hashes, generated from requirements.in by
`make lock`, and the other requirement files can be installed next to it."""

from __future__ import annotations

import re

from tests.infra.support import REPO_ROOT

PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+)", re.MULTILINE)


def requirements(name: str) -> str:
    return (REPO_ROOT / name).read_text()


def entries(text: str) -> list[str]:
    """Requirement entries, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [
        line.split(" #")[0].strip()
        for line in joined.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_every_runtime_package_is_pinned_with_hashes() -> None:
    listed = entries(requirements("requirements.txt"))

    assert len(listed) > 20
    for entry in listed:
        assert PIN.match(entry), entry
        assert "--hash=sha256:" in entry, entry


def test_the_lock_holds_every_input_at_its_version() -> None:
    wanted = {
        name.lower(): version for name, version in PIN.findall(requirements("requirements.in"))
    }
    locked = {
        name.lower(): version for name, version in PIN.findall(requirements("requirements.txt"))
    }

    assert wanted
    assert {name: locked.get(name) for name in wanted} == wanted


def test_the_lock_is_what_make_lock_writes() -> None:
    makefile = requirements("Makefile")
    header = requirements("requirements.txt")

    assert re.search(r"^lock: ", makefile, re.MULTILINE)
    assert "pip-compile" in makefile and "--generate-hashes" in makefile
    assert "--generate-hashes" in header and "requirements.in" in header
    assert "pip-tools==" in requirements("requirements-lock.txt")


def test_no_other_file_installs_the_runtime_without_hashes() -> None:
    # Hash-checking mode covers a whole pip call: a file that includes
    # requirements.txt would need hashes for every tool too.
    for name in ("requirements-dev.txt", "requirements-bench.txt", "requirements-infra.txt"):
        assert not re.search(r"^\s*-r\s+requirements\.txt", requirements(name), re.MULTILINE), name
    assert "--require-hashes -r requirements.txt" in requirements("Makefile")
    assert "--require-hashes -r requirements.txt" in requirements("cloudbuild.yaml")
