"""``python -m vault serve`` in a subprocess: the vault as the SDKs meet it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

from tests.support.firestore_emulator import free_port

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vault", *arguments],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@contextlib.contextmanager
def serving(env: Mapping[str, str] | None = None) -> Iterator[str]:
    """Serve on a free loopback port; yields the base URL once it answers HTTP."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "vault", "serve", "--port", str(port)],
        cwd=ROOT,
        env=dict(os.environ if env is None else env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base_url + "/openapi.json", timeout=1)
                break
            except urllib.error.HTTPError:
                break  # any HTTP answer means it is serving
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("python -m vault serve did not start") from None
                time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)
