"""The printed table and the targets, from the results dict."""

from __future__ import annotations

from typing import Any

NAMES = {
    "bare": "bare function (GET /)",
    "store_distinct": "store, distinct triples",
    "store_same": "store, same triple",
    "exchange": "exchange",
    "list": "list page (limit=10)",
}
RPC_ROWS = {
    "store_distinct": "store, distinct triples",
    "store_same": "store, same triple",
    "exchange": "exchange",
    "list": "list page (limit=10)",
    "get_absent": "GET absent credential",
    "api_key_check": "API-key check (= GET absent - 1 read)",
    "first_store_cold_key_cache": "first store of an instance",
}


def _profile(results: dict[str, Any], label: str) -> dict[str, Any] | None:
    return next((p for p in results["throughput"] if p["label"] == label), None)


def _threads(profile: dict[str, Any], meta: dict[str, Any]) -> str:
    workers = profile["settings"].get("WORKERS", "1")
    return f"{workers} worker{'s' if workers != '1' else ''} x {meta['threads_default']} threads"


def _target(name: str, value: str, goal: str, met: bool | None) -> dict[str, Any]:
    return {"target": name, "measured": value, "goal": goal, "met": met}


def _counts(row: dict[str, Any], side: str) -> str:
    counts = row.get(side) or {}
    return ", ".join(f"{name} {value:g}" for name, value in counts.items()) or "0"


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for profile in results["throughput"]:
        for scenario in ("store_distinct", "store_same"):
            ratio = profile["endpoints"][scenario]["rps_vs_bare"]
            out.append(
                _target(
                    f"{NAMES[scenario]} throughput vs bare ({profile['label']})",
                    f"{ratio:.2f}x",
                    ">= 0.6x",
                    ratio >= 0.6,
                )
            )
    cold = results["cold_start"]
    for key, label in (("default", "default"), ("workers2", "WORKERS=2")):
        if f"local_{key}" in cold:
            ratio = cold[f"local_{key}"]["median_ms"] / cold[f"bare_{key}"]["median_ms"]
            out.append(
                _target(
                    f"cold start, local vs bare ({label})", f"{ratio:.2f}x", "<= 1.5x", ratio <= 1.5
                )
            )
    reference = results["reference"]
    w2 = _profile(results, "WORKERS=2")
    if w2 is not None:
        for scenario in ("store_distinct", "store_same"):
            row = w2["endpoints"][scenario]
            out.append(
                _target(
                    f"{NAMES[scenario]}/s, local WORKERS=2, vs reference",
                    f"{row['rps']:.0f}/s",
                    f"> {reference['stores_per_s']}/s",
                    row["rps"] > reference["stores_per_s"],
                )
            )
            out.append(
                _target(
                    f"{NAMES[scenario]} p99, local WORKERS=2, vs reference",
                    f"{row['p99_ms']:.1f} ms",
                    f"< {reference['p99_ms']} ms",
                    row["p99_ms"] < reference["p99_ms"],
                )
            )
        memory = w2["vault_memory"]["instance_peak_rss_sum_mb"]
        out.append(
            _target(
                "RSS of the instance (arbiter + 2 workers, peaks summed), vs reference",
                f"{memory:.0f} MB",
                f"< {reference['rss_mb']} MB",
                memory < reference["rss_mb"],
            )
        )
    if "local_workers2" in cold:
        first = cold["local_workers2"]["median_ms"]
        out.append(
            _target(
                "first 201, local WORKERS=2, vs reference",
                f"{first:.0f} ms",
                f"< {reference['first_201_ms']} ms",
                first < reference["first_201_ms"],
            )
        )
    rpc = results.get("rpc")
    if rpc:
        store = rpc["store_distinct"]
        out.append(
            _target(
                "store RPCs (gcp, warm)",
                f"Firestore {_counts(store, 'firestore')}; KMS {_counts(store, 'kms')}",
                "1 Commit + 1 KMS call",
                store["firestore"] == {"Commit": 1.0} and store["kms_total"] == 1,
            )
        )
        exchange = rpc["exchange"]
        out.append(
            _target(
                "exchange RPCs (gcp, warm)",
                f"Firestore {_counts(exchange, 'firestore')}; KMS {_counts(exchange, 'kms')}",
                "1 get_all (BatchGetDocuments) + <= 1 KMS call; a Commit is the audit write",
                exchange["firestore"] == {"BatchGetDocuments": 1.0} and exchange["kms_total"] <= 1,
            )
        )
        listing = rpc["list"]
        out.append(
            _target(
                "list page RPCs (gcp, warm)",
                f"Firestore {_counts(listing, 'firestore')}; KMS {_counts(listing, 'kms')}",
                "1 RunQuery",
                listing["firestore"] == {"RunQuery": 1.0} and listing["kms_total"] == 0,
            )
        )
        check = rpc["api_key_check"]
        out.append(
            _target(
                "API-key check RPCs per request (gcp, warm)",
                f"{check['firestore_total']:g} Firestore, {check['api_key_lookups']:g} lookups",
                "~0",
                check["firestore_total"] < 0.05 and check["api_key_lookups"] < 0.05,
            )
        )
    local = results["imports"].get("local")
    if local:
        out.append(
            _target(
                "local backend imports no Google/gRPC library",
                f"{local['google_modules']} modules",
                "0",
                local["google_modules"] == 0,
            )
        )
    gcp = results["imports"].get("gcp")
    if gcp:
        out.append(
            _target(
                "gcp backend: no Google library imported before the first request",
                f"{gcp['google_modules_at_load']} modules at load",
                "0 (imported lazily, in the worker)",
                gcp["google_modules_at_load"] == 0,
            )
        )
        unused = {
            family: info["modules"]
            for family, info in gcp["unused_families"].items()
            if info["modules"]
        }
        out.append(
            _target(
                "gcp backend imports only what it uses",
                ", ".join(f"{family}: {n} modules" for family, n in unused.items())
                or "nothing unused",
                "no async/REST/other-KMS-service/admin/requests modules",
                not unused,
            )
        )
    return out


def measurement_errors(results: dict[str, Any]) -> list[str]:
    problems = []
    for profile in results["throughput"]:
        rows = {"bare": profile["bare"], **profile["endpoints"]}
        for name, row in rows.items():
            if row["error_count"]:
                problems.append(f"{profile['label']} {name}: {row['errors']}")
    return problems


def table(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        "",
        f"Vault benchmark  {meta['timestamp']}  commit {meta['git_commit']}"
        + (" (vault/ modified)" if meta["git_dirty"] else ""),
        f"{meta['cpus']} CPUs, Python {meta['python']}, {meta['wrk']}, {meta['load']}",
        f"load: {meta['load_shape']}; functions-framework THREADS default = "
        f"{meta['threads_default']}",
        f"NOTE: {meta['limits']}.",
        f"NOTE: request log {meta['request_log']}.",
        "",
        "1. Throughput and latency, local backend (vault) vs a bare function",
    ]
    profiles = results["throughput"]
    for profile in profiles:
        bare_cpu = profile["bare"].get("server_cpu_ms_per_req") or 0.0
        header = (
            f"  {profile['label'] + ' (' + _threads(profile, meta) + ')':34}"
            f"{'req/s':>7} {'x bare':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}"
            f" {'handler p50/p99':>16} {'CPU ms/req':>10} {'x bare':>6} {'errors':>6}"
        )
        lines += ["", header, "  " + "-" * (len(header) - 2)]
        for name in NAMES:
            data = profile["bare"] if name == "bare" else profile["endpoints"][name]
            ratio = 1.0 if name == "bare" else data["rps_vs_bare"]
            handler = data.get("handler_ms")
            handler_text = f"{handler['p50']:.2f}/{handler['p99']:.1f}" if handler else "-"
            cpu = data.get("server_cpu_ms_per_req") or 0.0
            lines.append(
                f"  {NAMES[name]:34}{data['rps']:7.0f} {ratio:5.2f}x {data['p50_ms']:7.2f}"
                f" {data['p99_ms']:7.2f} {data['max_ms']:7.1f} {handler_text:>16}"
                f" {cpu:10.3f} {cpu / bare_cpu if bare_cpu else 0:5.2f}x"
                f" {data['error_count']:6d}"
            )
    lines.append(
        "  (handler = latencyMs of the request log: time inside the vault's handler; "
        "CPU = arbiter + workers, user + system)"
    )

    cold = results["cold_start"]
    lines += [
        "",
        f"2. Cold start: spawn -> first 201 (store) / 200 (bare), median of "
        f"{meta['cold_start_repeats']}",
    ]
    for kind, bare_key, label in (
        ("local_default", "bare_default", "local, default"),
        ("local_workers2", "bare_workers2", "local, WORKERS=2"),
        ("gcp_default", "bare_default", "gcp (emulator + fake KMS), default"),
    ):
        if kind in cold:
            ratio = cold[kind]["median_ms"] / cold[bare_key]["median_ms"]
            lines.append(
                f"  {label:36} {cold[kind]['median_ms']:7.0f} ms  vs bare "
                f"{cold[bare_key]['median_ms']:5.0f} ms  = {ratio:4.2f}x   "
                f"(samples {cold[kind]['samples_ms']})"
            )

    rpc = results.get("rpc")
    lines += ["", "3. Remote calls per request, gcp backend, warm instance"]
    if rpc:
        for key, label in RPC_ROWS.items():
            row = rpc[key]
            if key == "api_key_check":
                lines.append(
                    f"  {label:40} Firestore {row['firestore_total']:g}, KMS "
                    f"{row['kms_total']:g}, key lookups {row['api_key_lookups']:g} "
                    f"(key cache {row['cache_seconds']:g}s)"
                )
                continue
            lines.append(
                f"  {label:40} Firestore {_counts(row, 'firestore'):34} KMS "
                f"{_counts(row, 'kms'):12} key lookups {row['api_key_lookups']:g}"
            )
    else:
        lines.append("  not measured (see notes)")

    lines += ["", "4. Memory: peak RSS (VmHWM) after the load, MiB"]
    for profile in profiles:
        bare, vault = profile["bare_memory"], profile["vault_memory"]
        per_worker = ", ".join(f"{w['peak_rss_mb']:.0f}" for w in vault["workers"].values())
        lines.append(
            f"  {profile['label']:10} vault per worker: {per_worker} (max "
            f"{vault['max_worker_peak_rss_mb']:.0f}); arbiter {vault['arbiter_peak_rss_mb']:.0f};"
            f" instance sum {vault['instance_peak_rss_sum_mb']:.0f}  |  bare per worker max "
            f"{bare['max_worker_peak_rss_mb']:.0f}, instance sum "
            f"{bare['instance_peak_rss_sum_mb']:.0f}"
        )

    lines += ["", "Imports: loading main.py + first store, exchange, list (beyond the framework)"]
    for backend, data in results["imports"].items():
        top = ", ".join(
            f"{item['module']} {item['ms']:.0f}"
            for item in data["top_level_added_cumulative_ms"][:6]
        )
        lines.append(
            f"  {backend:6} +{data['modules_added_to_framework']} modules over the framework's "
            f"{data['modules_total'] - data['modules_added_to_framework']} "
            f"(~{data['import_ms_added_to_framework']:.0f} ms under -X importtime), "
            f"of which Google/gRPC {data['google_modules']} "
            f"(~{data['google_import_ms']:.0f} ms)"
        )
        lines.append(f"         largest (cumulative ms): {top}")

    lines += ["", "Targets"]
    for target in results["targets"]:
        mark = {True: "MET   ", False: "MISSED", None: "n/a   "}[target["met"]]
        lines.append(f"  [{mark}] {target['target']}: {target['measured']} (goal {target['goal']})")
    for note in results["notes"]:
        lines.append(f"  note: {note}")
    for problem in measurement_errors(results):
        lines.append(f"  WARNING non-2xx/socket errors: {problem}")
    return "\n".join(lines)
