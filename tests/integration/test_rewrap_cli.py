"""``python -m vault rewrap`` as an operator runs it: killed by a real signal and run
again, it resumes after the last finished batch; its progress in a terminal; an old
single-file ``master.key`` data dir opens unchanged; a lost key file is refused."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.support.http_app import PATH, bearer, make_client
from tests.support.rotation import kms_of, rotate, rotating_vault
from tests.support.service_level import store
from vault import bootstrap
from vault.bootstrap import Vault
from vault.errors import ConfigurationError
from vault.keys.wiring import sealed_sources
from vault.progress import parse_summary

RECORDS = 50
BATCH = 10


@pytest.fixture
def vault(backend_env: dict[str, str]) -> Vault:
    return rotating_vault(backend_env)


@pytest.fixture
def caller(vault: Vault) -> Any:
    return vault.keys.create("dev-1", "tests")[1]


def command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "vault", *arguments]


def wait_for(condition: Any, seconds: float = 60.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("the condition never held")


@pytest.mark.parametrize("sent", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_killed_mid_run_it_resumes_without_redoing_finished_batches(vault, caller, request, sent):
    for index in range(RECORDS):
        store(vault, caller, principalId=f"user-{index:02d}", refreshToken="rt")
    rotate(vault, kms_of(vault, request))
    state = sealed_sources(vault.settings)[1]
    # The pause between batches makes the run last long enough to be killed in it.
    running = subprocess.Popen(
        command("rewrap", "--batch", str(BATCH), "--pause", "2"),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        checkpoint = wait_for(lambda: state.load("rewrap"))
        running.send_signal(sent)
        out, _ = running.communicate(timeout=60)
    finally:
        if running.poll() is None:
            running.kill()
            running.wait()
    checkpoint = state.load("rewrap")
    assert checkpoint is not None, "the run finished before it could be killed"
    done = checkpoint["counts"]["scanned"]
    assert done % BATCH == 0 and 0 < done < RECORDS
    if sent == signal.SIGINT:
        assert running.returncode == 130
        assert parse_summary(out.decode())["interrupted"] == "KeyboardInterrupt"
    else:
        assert running.returncode == -signal.SIGKILL

    again = subprocess.run(
        command("rewrap", "--batch", str(BATCH)), cwd=ROOT, capture_output=True, check=False
    )

    summary = parse_summary(again.stdout.decode())
    assert again.returncode == 0
    assert summary["resumed_after"] == done
    # Every record once over both runs: none of the finished batches was read again.
    assert (summary["scanned"], summary["rewrapped"], summary["already_current"]) == (
        RECORDS,
        RECORDS,
        0,
    )
    assert state.load("rewrap") is None
    audit = [e.outcome for e in vault.credentials.audit_entries("") if e.action == "rewrap"]
    assert audit[-1] == f"scanned={RECORDS} rewrapped={RECORDS} already_current=0" + (
        " skipped_changed=0 failed=0"
    )
    # One entry per run: the killed one leaves one only if it could still write it.
    interrupted = [outcome for outcome in audit if outcome.startswith("interrupted ")]
    assert len(audit) == 1 + len(interrupted)
    assert len(interrupted) == (1 if sent == signal.SIGINT else 0)


@pytest.mark.parametrize("backend_env", ["local"], indirect=True)
def test_progress_in_a_terminal_and_a_parseable_summary(vault, caller):
    for index in range(30):
        store(vault, caller, principalId=f"user-{index:02d}")
    rotate(vault, None)
    leader, follower = pty.openpty()
    # A terminal of 24 rows by 120 columns, as a person's would be.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    running = subprocess.Popen(
        command("rewrap", "--batch", "7"),
        cwd=ROOT,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        close_fds=True,
    )
    os.close(follower)
    screen = b""
    try:
        while True:
            ready, _, _ = select.select([leader], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed with the last writer
                break
            if not chunk:
                break
            screen += chunk
    finally:
        os.close(leader)
        running.wait(timeout=60)

    text = screen.decode("utf-8", "replace")
    assert running.returncode == 0
    assert "\r" in text  # the bar redraws itself in place
    assert "30/30" in text and "record/s" in text
    assert "rewrapped=30" in text and "failed=0" in text
    assert "rewrap: scanned 30, rewrapped 30, already current 0" in text
    summary = parse_summary(text.replace("\r", "\n"))
    assert (summary["scanned"], summary["rewrapped"], summary["failed"]) == (30, 30, 0)


@pytest.mark.parametrize("backend_env", ["local"], indirect=True)
def test_an_old_single_file_master_key_data_dir_opens_unchanged(backend_env, issuer):
    data = Path(backend_env["VAULT_DATA_DIR"])
    data.mkdir(parents=True)
    key = os.urandom(32)
    (data / "master.key").write_bytes(key)
    (data / "master.key").chmod(0o600)
    client = make_client()
    api_key = bootstrap.get_vault().keys.create("dev-1", "tests")[0]
    body = {"principalId": "user-1", "service": "github", "accessToken": "ghp_old"}
    assert client.post(PATH, json=body, headers=bearer(api_key)).status_code == 201
    bootstrap.reset()  # a new process on the same data dir

    def exchange() -> str:
        response = make_client().post(
            PATH + "/exchange", json={"service": "github"}, headers=bearer(issuer.mint())
        )
        assert response.status_code == 200
        return str(response.get_json()["accessToken"])

    assert exchange() == "ghp_old"
    assert (data / "master.key").read_bytes() == key
    subprocess.run(command("keys", "rotate-master"), cwd=ROOT, check=True, capture_output=True)
    bootstrap.reset()
    assert exchange() == "ghp_old"  # version 1 is the old key, now in the ring


@pytest.mark.parametrize("backend_env", ["local"], indirect=True)
def test_a_missing_key_file_with_stored_credentials_is_refused(vault, caller):
    store(vault, caller)
    (vault.settings.data_dir / "master.key").unlink()
    bootstrap.reset()

    with pytest.raises(ConfigurationError):
        bootstrap.get_vault()
    assert not (vault.settings.data_dir / "master.key").exists()


def test_wrong_options_are_refused_and_gcp_keeps_its_versions_in_cloud_kms(vault, capsys):
    from vault.__main__ import main

    assert main(["rewrap", "--batch", "0"]) == 2
    assert main(["rewrap", "--workers", "99"]) == 2
    rotated = main(["keys", "rotate-master"])

    err = capsys.readouterr().err
    assert "--batch must be between 1 and 500" in err
    if vault.settings.backend == "gcp":
        # A command the backend does not have is a configuration error: exit 2.
        assert rotated == 2 and "Cloud KMS keeps the key versions" in err
    else:
        assert rotated == 0
