"""`make run`'s key (python -m vault.devstack.dev_key): kept while it works, made anew
when the saved one was revoked, saved 0600, printed on stderr."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from vault import bootstrap
from vault.devstack.dev_key import main


def _printed_key(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert lines[-2].startswith("API key for developer local-dev")
    return lines[-1]


def test_the_saved_key_is_kept_then_replaced_once_revoked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.environ.update({"VAULT_BACKEND": "local", "VAULT_DATA_DIR": str(tmp_path / "data")})
    key_file = tmp_path / "data" / "dev-api-key"

    assert main([str(key_file)]) == 0
    first = _printed_key(capsys)
    assert main([str(key_file)]) == 0
    again = _printed_key(capsys)
    (record,) = bootstrap.get_vault().keys.list("local-dev")
    bootstrap.get_vault().keys.revoke(record.key_id)
    bootstrap.reset()  # a new `make run` is a new process, with an empty key cache
    assert main([str(key_file)]) == 0
    replaced = _printed_key(capsys)

    assert first.startswith("gx_live_") and again == first
    assert replaced != first and replaced.startswith("gx_live_")
    assert key_file.read_text().strip() == replaced
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    bootstrap.reset()
    records = bootstrap.get_vault().keys.list("local-dev")
    assert sorted(record.revoked_at is None for record in records) == [False, True]
