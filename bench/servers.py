"""Spawn functions-framework exactly as the cloud runs it, and look at its processes.

``functions-framework --target T --source S --host 127.0.0.1 --port P``: the process we
start is gunicorn's arbiter; its children are the workers (``WORKERS``, default 1),
each with ``THREADS`` threads (default cpu count * 4).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
FUNCTIONS_FRAMEWORK = str(VENV_BIN / "functions-framework")
PYTHON = sys.executable
MAIN = str(ROOT / "main.py")
BARE = str(ROOT / "bench" / "bare.py")
HOST = "127.0.0.1"

# Variables of ours or the framework's that must not leak from the caller's shell.
_SCRUBBED_PREFIXES = ("VAULT_", "WORKERS", "THREADS", "FIRESTORE_EMULATOR_HOST")
_SCRUBBED = ("GOOGLE_CLOUD_PROJECT", "CLOUD_RUN_TIMEOUT_SECONDS", "GUNICORN_LOG_LEVEL")

# Throughput runs switch the per-instance limiters off (they would throttle wrk).
NO_LIMITS = {
    "VAULT_RATE_LIMIT_PER_MINUTE": "0",
    "VAULT_EXCHANGE_RATE_LIMIT_PER_MINUTE": "0",
    "VAULT_AUTH_FAILURES_PER_MINUTE": "0",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_SCRUBBED_PREFIXES) and name not in _SCRUBBED
    }
    env.update(extra or {})
    return env


def cli(args: list[str], env: Mapping[str, str], timeout: float = 120.0) -> str:
    """``python -m vault ...`` with the server's environment; returns stdout, stripped."""
    done = subprocess.run(
        [PYTHON, "-m", "vault", *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"python -m vault {' '.join(args[:2])} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def proc_status(pid: int) -> dict[str, str]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    fields = {}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return fields


def kib(value: str | None) -> int:
    return int(value.split()[0]) if value else 0


def children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return sorted(set(found))


@dataclass
class Server:
    """One functions-framework process tree, stdout (the request log) to a file."""

    name: str
    target: str
    source: str
    env: dict[str, str]
    log_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    spawned_at: float = 0.0

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> float:
        """Spawn; returns the perf_counter() taken just before Popen."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        stdout = (self.log_dir / f"{self.name}.stdout.log").open("ab")
        stderr = (self.log_dir / f"{self.name}.stderr.log").open("ab")
        command = [
            FUNCTIONS_FRAMEWORK,
            "--target",
            self.target,
            "--source",
            self.source,
            "--host",
            HOST,
            "--port",
            str(self.port),
        ]
        self.spawned_at = time.perf_counter()
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        stdout.close()
        stderr.close()
        return self.spawned_at

    def wait_ready(self, timeout: float = 60.0, workers: int = 1) -> None:
        """Until GET / answers at all (any status) and every worker is up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                connection = http.client.HTTPConnection(HOST, self.port, timeout=10)
                connection.request("GET", "/")
                connection.getresponse().read()
                connection.close()
                if len(self.worker_pids()) >= workers:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not become ready; see {self.log_dir}")

    def _check_alive(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            err = (self.log_dir / f"{self.name}.stderr.log").read_text(errors="replace")
            raise RuntimeError(f"{self.name} exited ({self.process.returncode}):\n{err[-2000:]}")

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        return children(self.process.pid)

    def memory(self) -> dict[str, Any]:
        """Peak (VmHWM) and current (VmRSS) resident memory of each process, in MiB."""
        assert self.process is not None
        workers = {}
        for pid in self.worker_pids():
            status = proc_status(pid)
            workers[str(pid)] = {
                "peak_rss_mb": round(kib(status.get("VmHWM")) / 1024, 1),
                "rss_mb": round(kib(status.get("VmRSS")) / 1024, 1),
            }
        arbiter = proc_status(self.process.pid)
        peaks = [worker["peak_rss_mb"] for worker in workers.values()]
        arbiter_peak = round(kib(arbiter.get("VmHWM")) / 1024, 1)
        return {
            "workers": workers,
            "max_worker_peak_rss_mb": max(peaks, default=0.0),
            "arbiter_peak_rss_mb": arbiter_peak,
            # Upper bound for the instance: forked workers share pages with the arbiter.
            "instance_peak_rss_sum_mb": round(arbiter_peak + sum(peaks), 1),
        }

    def cpu_seconds(self) -> float:
        """User + system CPU of the arbiter and its live workers, in seconds."""
        assert self.process is not None
        total = 0
        for pid in [self.process.pid, *self.worker_pids()]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
        return total / os.sysconf("SC_CLK_TCK")

    def log_lines(self) -> int:
        path = self.log_dir / f"{self.name}.stdout.log"
        with path.open("rb") as log:
            return sum(1 for _ in log)

    def handler_latencies(self, skip: int) -> list[float]:
        """``latencyMs`` of the request log lines after the first ``skip``: the time
        inside the vault's handler, without queueing, parsing or sending."""
        found = []
        with (self.log_dir / f"{self.name}.stdout.log").open("rb") as log:
            for index, line in enumerate(log):
                if index >= skip:
                    try:
                        found.append(float(json.loads(line)["latencyMs"]))
                    except (ValueError, KeyError):
                        continue
        return sorted(found)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # our own session, by its id
                self.process.wait(timeout=5)
        self.process = None

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()
