"""Profile the store path under load: py-spy on the worker while wrk sends stores.

``python -m bench.profile_store [--seconds 15] [--scenario store_distinct] [--idle]``

Serves the local backend exactly as ``bench.run`` does (functions-framework, default
settings unless ``--workers``), warms it up, then samples the worker with
``py-spy record --format raw`` while wrk runs, and prints the heaviest functions
(inclusive and self time) and the heaviest lines. ``--idle`` also counts threads that
wait (sleeps, locks, I/O): that shows where latency goes, not only CPU; ``--gil``
counts only the thread holding the GIL: where the worker's Python CPU goes;
``--native`` adds C frames (SQLite, OpenSSL) but makes py-spy pause the worker for each
sample, which slows it down tenfold and exaggerates lock waits. The raw
profile (collapsed stacks, for flamegraph tools or speedscope) is kept under
bench/profiles/.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path

from bench.load import LoadShape, run_wrk
from bench.servers import MAIN, ROOT, VENV_BIN, Server, cli
from bench.throughput import STORE_PATH, local_env

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def _short(path: str) -> str:
    for marker in ("site-packages/", "/lib/python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path.replace(str(ROOT) + "/", "")


def summarise(raw: Path, top: int) -> str:
    inclusive: collections.Counter[str] = collections.Counter()
    self_fn: collections.Counter[str] = collections.Counter()
    self_line: collections.Counter[str] = collections.Counter()
    vault_inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for text in raw.read_text().splitlines():
        stack, _, count_text = text.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = []
        for frame in stack.split(";"):
            match = _FRAME.match(frame)
            if match is None:
                frames.append((frame, frame))
                continue
            where = _short(match["file"])
            frames.append(
                (f"{match['func']} ({where})", f"{match['func']} ({where}:{match['line']})")
            )
        for function in {function for function, _ in frames}:
            inclusive[function] += count
            if "(vault/" in function or "(main.py" in function:
                vault_inclusive[function] += count
        if frames:
            self_fn[frames[-1][0]] += count
            self_line[frames[-1][1]] += count
    if not total:
        return "no samples"

    def block(title: str, counter: collections.Counter[str]) -> list[str]:
        rows = [f"\n{title} (of {total} samples)"]
        rows += [f"  {100 * n / total:5.1f}%  {name}" for name, n in counter.most_common(top)]
        return rows

    lines = block("inclusive, by function", inclusive)
    lines += block("inclusive, vault/ and main.py functions", vault_inclusive)
    lines += block("self, by function", self_fn)
    lines += block("self, by line", self_line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_store")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--scenario", default="store_distinct")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples/s")
    parser.add_argument("--idle", action="store_true", help="count waiting threads too")
    parser.add_argument("--gil", action="store_true", help="only the thread holding the GIL")
    parser.add_argument("--native", action="store_true", help="C frames too (SQLite, OpenSSL)")
    parser.add_argument("--top", type=int, default=25)
    arguments = parser.parse_args(argv)
    py_spy = shutil.which("py-spy") or str(VENV_BIN / "py-spy")
    work_dir = Path(tempfile.mkdtemp(prefix="vault-profile-"))
    out_dir = ROOT / "bench" / "profiles"
    out_dir.mkdir(exist_ok=True)
    suffix = "".join(f"-{flag}" for flag in ("idle", "gil", "native") if getattr(arguments, flag))
    raw = out_dir / f"{arguments.scenario}{suffix}.txt"
    settings = {"WORKERS": str(arguments.workers)} if arguments.workers != 1 else {}
    env = local_env(work_dir / "data", settings, limits_off=True)
    api_key = cli(["keys", "create", "--developer", "bench"], env)
    shape = LoadShape(seconds=arguments.seconds + 2)
    server = Server("profile", "vault", MAIN, env, work_dir / "logs")
    try:
        return _profile(server, arguments, py_spy, raw, shape, api_key)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def _profile(
    server: Server,
    arguments: argparse.Namespace,
    py_spy: str,
    raw: Path,
    shape: LoadShape,
    api_key: str,
) -> int:
    with server:
        server.start()
        server.wait_ready(workers=arguments.workers)
        tag = uuid.uuid4().hex[:8]
        url = server.base_url + STORE_PATH
        run_wrk(url, arguments.scenario, [api_key, tag + "w"], shape, 3)  # warm-up
        result: dict[str, object] = {}
        load = threading.Thread(
            target=lambda: result.update(
                run_wrk(url, arguments.scenario, [api_key, tag], shape, shape.seconds)
            )
        )
        load.start()
        command = [
            py_spy,
            "record",
            "--format",
            "raw",
            "--rate",
            str(arguments.rate),
            "--duration",
            str(int(arguments.seconds)),
            "--output",
            str(raw),
        ]
        if not arguments.native:  # py-spy needs to pause the process to unwind C stacks
            command.append("--nonblocking")
        if arguments.idle:
            command.append("--idle")
        if arguments.gil:
            command.append("--gil")
        if arguments.native:
            command.append("--native")
        pids = server.worker_pids()
        command += ["--pid", str(pids[0])]
        sampled = subprocess.run(
            command, capture_output=True, text=True, timeout=arguments.seconds + 60, check=False
        )
        if sampled.returncode != 0:
            raise SystemExit(f"py-spy failed: {sampled.stderr.strip() or sampled.stdout.strip()}")
        load.join()
    print(
        f"{arguments.scenario}: {result.get('rps')} req/s, p99 {result.get('p99_ms')} ms "
        f"under py-spy ({arguments.rate} Hz, worker {pids[0]}); raw profile: {raw}"
    )
    print(summarise(raw, arguments.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
