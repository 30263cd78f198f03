"""The benchmark, in one run: ``python -m bench.run`` from the repository root.

1. throughput and latency of store (distinct triples, same-triple upserts), exchange
   and a list page on the local backend, beside a bare function, under the framework's
   default settings and with WORKERS=2 (wrk in its own process);
2. cold start, spawn to first 201 of a store (local and gcp) vs first 200 of the bare
   function;
3. Firestore and KMS RPCs per request on a warm gcp instance;
4. peak RSS per worker under load;
plus what each backend imports. Writes bench/results.json and docs/bench.png, prints a
table and which targets were met. Progress goes to stderr, the report to stdout.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import coldstart, imports, report, throughput
from bench.load import LoadShape, wrk_path, wrk_version
from bench.servers import PYTHON, ROOT, cli

REFERENCE = {  # Node.js/Fastify + PostgreSQL + Redis on the same kind of 2-core machine
    "stores_per_s": 1550,
    "p99_ms": 46,
    "rss_mb": 240,
    "first_201_ms": 970,
}
PROFILES = (("default", {}), ("WORKERS=2", {"WORKERS": "2"}))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False, timeout=30
    )
    return done.stdout.strip()


def meta(shape: LoadShape, arguments: argparse.Namespace) -> dict[str, Any]:
    load = Path("/proc/loadavg").read_text().split()[:3]
    return {
        "timestamp": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--", "vault", "main.py")),
        "python": platform.python_version(),
        "wrk": wrk_version(),
        "cpus": os.cpu_count(),
        "load": "load avg " + " ".join(load) + " at start",
        "load_avg_start": [float(value) for value in load],
        "load_shape": shape.describe(),
        "threads_default": (os.cpu_count() or 1) * 4,
        "limits": "throughput runs set VAULT_RATE_LIMIT_PER_MINUTE=0, "
        "VAULT_EXCHANGE_RATE_LIMIT_PER_MINUTE=0, VAULT_AUTH_FAILURES_PER_MINUTE=0 "
        "(the per-instance limiters would throttle wrk); cold starts keep the defaults",
        "request_log": "on: one JSON line per request, server stdout to a file",
        "cold_start_repeats": arguments.repeats,
        "command": "python -m bench.run " + " ".join(sys.argv[1:]),
    }


def run_gcp(results: dict[str, Any], arguments: argparse.Namespace, work_dir: Path) -> None:
    from bench.gcp import GcpStack, new_project

    log("gcp backend: starting the Firestore emulator and the fake KMS ...")
    stack = GcpStack(work_dir)
    try:
        log(f"  emulator at {stack.emulator.host}, fake KMS at {stack.kms.endpoint}")
        project = new_project()
        log("cold start, gcp backend (default settings) ...")
        results["cold_start"]["gcp_default"] = coldstart.cold_vault(
            lambda _index: stack.env(project), arguments.repeats, work_dir / "logs", "cold-gcp"
        )
        log(f"  gcp: {results['cold_start']['gcp_default']['median_ms']:.0f} ms median")

        log("RPCs per request, warm gcp instance ...")
        out = work_dir / "rpc-counts.json"
        done = subprocess.run(
            [
                PYTHON,
                "-m",
                "bench.rpc_counts",
                "--emulator",
                stack.emulator.host,
                "--project",
                new_project(),
                "--out",
                str(out),
            ],
            cwd=ROOT,
            env=stack.env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"rpc counts failed:\n{done.stderr[-3000:]}")
        results["rpc"] = json.loads(out.read_text())

        log("imports, gcp backend ...")
        env = stack.env()
        api_key = cli(["keys", "create", "--developer", "bench", "--name", "imports"], env)
        grant = stack.issuer.mint(dev="bench", sub="user-imports", scp=["vault:github:exchange"])
        results["imports"]["gcp"] = imports.analyse(env, api_key, grant, work_dir, "gcp")
    finally:
        stack.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="each wrk run (10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up wrk run (2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk -c (32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk -t (2)")
    parser.add_argument("--repeats", type=int, default=5, help="cold starts per kind (5)")
    parser.add_argument("--skip-gcp", action="store_true", help="no emulator / fake KMS parts")
    parser.add_argument("--quick", action="store_true", help="3s runs, 3 cold starts: a smoke test")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    parser.add_argument("--chart", default=str(ROOT / "docs" / "bench.png"))
    parser.add_argument("--keep", action="store_true", help="keep the scratch dir and logs")
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.seconds, arguments.warmup, arguments.repeats = 3.0, 1.0, 3
    shape = LoadShape(
        threads=arguments.threads,
        connections=arguments.connections,
        seconds=arguments.seconds,
        warmup_seconds=arguments.warmup,
    )
    wrk_path()  # fail early, with the install command
    # Bytecode for the app and the bare function alike, as a deployed function has it
    # (this environment may set PYTHONDONTWRITEBYTECODE, which would otherwise make
    # every cold start compile the vault's modules from source).
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "main.py", "vault", "bench/bare.py"],
        cwd=ROOT,
        check=True,
    )
    started = time.monotonic()
    work_dir = Path(tempfile.mkdtemp(prefix="vault-bench-"))
    log(f"scratch dir {work_dir}; load shape: {shape.describe()}")
    log("throughput runs: per-instance rate limits OFF (VAULT_*_PER_MINUTE=0); request log ON")
    results: dict[str, Any] = {
        "meta": meta(shape, arguments),
        "reference": REFERENCE,
        "throughput": [],
        "cold_start": {},
        "rpc": None,
        "imports": {},
        "notes": [],
    }
    failed = False
    try:
        for label, settings in PROFILES:
            log(f"throughput, {label} ...")
            results["throughput"].append(
                throughput.run_profile(label, settings, shape, work_dir, log)
            )

        for label, settings in PROFILES:
            key = "default" if label == "default" else "workers2"
            log(f"cold start, bare and local ({label}) ...")
            results["cold_start"][f"bare_{key}"] = coldstart.cold_bare(
                settings, arguments.repeats, work_dir / "logs"
            )
            results["cold_start"][f"local_{key}"] = coldstart.cold_vault(
                coldstart.fresh_local_env(settings, work_dir),
                arguments.repeats,
                work_dir / "logs",
                f"cold-local-{key}",
            )
            log(
                f"  bare {results['cold_start'][f'bare_{key}']['median_ms']:.0f} ms, "
                f"local {results['cold_start'][f'local_{key}']['median_ms']:.0f} ms"
            )

        log("imports, local backend ...")
        env = throughput.local_env(Path(tempfile.mkdtemp(dir=work_dir)), {}, limits_off=False)
        api_key = cli(["keys", "create", "--developer", "bench", "--name", "imports"], env)
        grant = cli(
            [
                *("grants", "mint", "--developer", "bench"),
                *("--principal", "user-imports", "--scope", "vault:github:exchange"),
            ],
            env,
        )
        results["imports"]["local"] = imports.analyse(env, api_key, grant, work_dir, "local")

        if arguments.skip_gcp:
            results["notes"].append("gcp parts skipped (--skip-gcp)")
        else:
            try:
                run_gcp(results, arguments, work_dir)
            except RuntimeError as error:
                failed = True
                results["notes"].append(f"gcp parts failed: {error}")
                log(f"gcp parts FAILED: {error}")
    except BaseException:
        log(f"benchmark failed; logs kept in {work_dir}")
        raise
    results["meta"]["seconds_total"] = round(time.monotonic() - started, 1)
    results["meta"]["load_avg_end"] = [
        float(value) for value in Path("/proc/loadavg").read_text().split()[:3]
    ]
    results["targets"] = report.targets(results)

    out = Path(arguments.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    from bench import chart

    chart.render(results, Path(arguments.chart))
    print(report.table(results))
    print(f"\nwrote {out} and {arguments.chart} in {results['meta']['seconds_total']:.0f}s")
    if arguments.keep or failed:
        log(f"scratch dir kept: {work_dir}")
    else:
        shutil.rmtree(work_dir, ignore_errors=True)
    return 1 if failed or report.measurement_errors(results) else 0


if __name__ == "__main__":
    sys.exit(main())
