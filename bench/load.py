"""Load from wrk (Debian's package), in its own process: never a Python loop.

Each scenario is a Lua script in bench/lua/ plus report.lua, which prints one
``BENCH_JSON {...}`` line with wrk's totals and latency percentiles.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LUA = Path(__file__).resolve().parent / "lua"
_MARKER = "BENCH_JSON "


@dataclass(frozen=True)
class LoadShape:
    threads: int = 2
    connections: int = 32
    seconds: float = 10.0
    warmup_seconds: float = 2.0
    timeout_seconds: float = 10.0

    def describe(self) -> str:
        return (
            f"wrk -t{self.threads} -c{self.connections} -d{self.seconds:g}s "
            f"--timeout {self.timeout_seconds:g}s (after a {self.warmup_seconds:g}s warm-up)"
        )


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit(
            "wrk is not installed: apt-get update && apt-get install -y wrk (Debian's package)"
        )
    return found


def wrk_version() -> str:
    done = subprocess.run([wrk_path(), "-v"], capture_output=True, text=True, check=False)
    first = (done.stdout or done.stderr).splitlines()[0]
    return first.split(" Copyright", 1)[0].strip()


def _script(scenario: str, directory: Path) -> Path:
    path = directory / f"{scenario}.lua"
    path.write_text((LUA / f"{scenario}.lua").read_text() + "\n" + (LUA / "report.lua").read_text())
    return path


def run_wrk(
    url: str, scenario: str, args: list[str], shape: LoadShape, seconds: float
) -> dict[str, Any]:
    """One wrk run; returns its totals, requests/s and latencies in ms."""
    with tempfile.TemporaryDirectory(prefix="bench-lua-") as scratch:
        script = _script(scenario, Path(scratch))
        command = [
            wrk_path(),
            f"-t{shape.threads}",
            f"-c{shape.connections}",
            f"-d{seconds:g}s",
            f"--timeout={shape.timeout_seconds:g}s",
            "-s",
            str(script),
            url,
        ]
        if args:
            command += ["--", *args]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + 60, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    lines = [line for line in done.stdout.splitlines() if line.startswith(_MARKER)]
    if not lines:
        raise RuntimeError(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(lines[-1][len(_MARKER) :])
    latency = raw["latency_us"]
    seconds_run = raw["duration_us"] / 1e6
    errors = sum(raw["errors"].values())
    return {
        "requests": raw["requests"],
        "seconds": round(seconds_run, 3),
        "rps": round(raw["requests"] / seconds_run, 1) if seconds_run else 0.0,
        "p50_ms": round(latency["p50"] / 1000, 2),
        "p90_ms": round(latency["p90"] / 1000, 2),
        "p99_ms": round(latency["p99"] / 1000, 2),
        "p999_ms": round(latency["p999"] / 1000, 2),
        "max_ms": round(latency["max"] / 1000, 2),
        "mean_ms": round(latency["mean"] / 1000, 2),
        "errors": raw["errors"],
        "error_count": errors,
    }


def measure(
    url: str,
    scenario: str,
    args: list[str],
    shape: LoadShape,
    warmup_args: list[str] | None = None,
    server: Any = None,
) -> dict[str, Any]:
    """A warm-up run (discarded), then the measured run. With ``server`` (a
    bench.servers.Server), also its CPU per request and, when it writes the vault's
    request log, the handler's own latency percentiles."""
    if shape.warmup_seconds > 0:
        run_wrk(url, scenario, warmup_args or args, shape, shape.warmup_seconds)
    if server is None:
        return run_wrk(url, scenario, args, shape, shape.seconds)
    lines_before = server.log_lines()
    cpu_before = server.cpu_seconds()
    result = run_wrk(url, scenario, args, shape, shape.seconds)
    cpu = server.cpu_seconds() - cpu_before
    result["server_cpu_ms_per_req"] = round(1000 * cpu / max(1, result["requests"]), 3)
    result["server_cpu_cores"] = round(cpu / result["seconds"], 2) if result["seconds"] else 0.0
    handler = server.handler_latencies(lines_before)
    if handler:
        count = len(handler)
        result["handler_ms"] = {
            "count": count,
            "p50": round(handler[count // 2], 2),
            "p99": round(handler[min(count - 1, int(count * 0.99))], 2),
            "max": round(handler[-1], 2),
        }
    return result
