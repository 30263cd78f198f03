"""The official Cloud Firestore emulator on a free loopback port, found where the test
suite finds it (Debian's google-cloud-cli-firestore-emulator package, or the path in
VAULT_TEST_FIRESTORE_EMULATOR). Development only: its data lives in memory."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import IO

KNOWN_LOCATIONS = (
    "/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud_firestore_emulator",
    "/usr/share/google-cloud-sdk/platform/cloud-firestore-emulator/cloud_firestore_emulator",
)


def find_emulator() -> str | None:
    explicit = os.environ.get("VAULT_TEST_FIRESTORE_EMULATOR")
    candidates = [explicit] if explicit else []
    candidates += [shutil.which("cloud_firestore_emulator") or "", *KNOWN_LOCATIONS]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class FirestoreEmulator:
    def __init__(self, executable: str, log: IO[bytes]) -> None:
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self._process = subprocess.Popen(  # noqa: S603 - the emulator found above
            [executable, "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the Firestore emulator exited ({self._process.returncode})")
            try:
                with urllib.request.urlopen(f"http://{self.host}/", timeout=1) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the Firestore emulator did not become ready in time")

    def stop(self) -> None:
        if self._process.poll() is None:
            os.killpg(self._process.pid, 15)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, 9)
