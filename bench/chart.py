"""docs/bench.png from bench/results.json (matplotlib, no display needed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ENDPOINT_LABELS = {
    "bare": "bare fn",
    "store_distinct": "store\n(distinct)",
    "store_same": "store\n(same triple)",
    "exchange": "exchange",
    "list": "list page",
}
COLOURS = {"default": "#4C72B0", "WORKERS=2": "#DD8452"}


def _label_bars(axes: Any, bars: Any, fmt: str) -> None:
    for bar in bars:
        height = bar.get_height()
        if height <= 0:
            continue
        axes.annotate(
            fmt.format(height),
            (bar.get_x() + bar.get_width() / 2, height),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=7,
        )


def _reference(axes: Any, value: float, text: str) -> None:
    """A dashed line for the Node.js reference, named in the legend; some headroom."""
    axes.axhline(value, color="#C44E52", linestyle="--", linewidth=1, label=text)
    low, high = axes.get_ylim()
    axes.set_ylim(low, max(high, value) * 1.15)
    axes.legend(fontsize=8, loc="upper right")


def render(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    reference = results["reference"]
    profiles = results["throughput"]
    endpoints = list(ENDPOINT_LABELS)
    width = 0.8 / max(1, len(profiles))

    figure, grid = plt.subplots(2, 2, figsize=(13, 8.5))
    rps_axes, p99_axes, cold_axes, rss_axes = grid.flat

    for offset, profile in enumerate(profiles):
        rows = {"bare": profile["bare"], **profile["endpoints"]}
        xs = [index + (offset - (len(profiles) - 1) / 2) * width for index in range(len(endpoints))]
        colour = COLOURS.get(profile["label"])
        bars = rps_axes.bar(
            xs,
            [rows[name]["rps"] for name in endpoints],
            width,
            label=profile["label"],
            color=colour,
        )
        _label_bars(rps_axes, bars, "{:.0f}")
        bars = p99_axes.bar(
            xs,
            [rows[name]["p99_ms"] for name in endpoints],
            width,
            label=profile["label"],
            color=colour,
        )
        _label_bars(p99_axes, bars, "{:.1f}")
    for axes in (rps_axes, p99_axes):
        axes.set_xticks(range(len(endpoints)), [ENDPOINT_LABELS[name] for name in endpoints])
    rps_axes.legend(fontsize=8, loc="upper right")
    rps_axes.set_title("Throughput, local backend (higher is better)")
    rps_axes.set_ylabel("requests / s")
    _reference(
        rps_axes, reference["stores_per_s"], f"reference: {reference['stores_per_s']} stores/s"
    )
    p99_axes.set_title("p99 latency (lower is better)")
    p99_axes.set_ylabel("ms")
    _reference(p99_axes, reference["p99_ms"], f"reference p99: {reference['p99_ms']} ms")

    cold = results.get("cold_start", {})
    names, values, colours = [], [], []
    for key, text, colour in (
        ("bare_default", "bare fn\n(default)", "#8C8C8C"),
        ("local_default", "vault local\n(default)", "#4C72B0"),
        ("bare_workers2", "bare fn\n(WORKERS=2)", "#8C8C8C"),
        ("local_workers2", "vault local\n(WORKERS=2)", "#DD8452"),
        ("gcp_default", "vault gcp\n(default)", "#55A868"),
    ):
        if key in cold:
            names.append(text)
            values.append(cold[key]["median_ms"])
            colours.append(colour)
    bars = cold_axes.bar(names, values, color=colours)
    _label_bars(cold_axes, bars, "{:.0f} ms")
    cold_axes.set_title("Cold start: spawn to first 201 (store) / 200 (bare), median")
    cold_axes.set_ylabel("ms")
    cold_axes.tick_params(axis="x", labelsize=8)
    _reference(cold_axes, reference["first_201_ms"], f"reference: {reference['first_201_ms']} ms")

    names, values, colours, hatches = [], [], [], []
    for profile in profiles:
        colour = COLOURS.get(profile["label"])
        label = profile["label"]
        names += [
            f"bare fn\nper worker\n({label})",
            f"vault\nper worker\n({label})",
            f"vault\ninstance\n({label})",
        ]
        values += [
            profile["bare_memory"]["max_worker_peak_rss_mb"],
            profile["vault_memory"]["max_worker_peak_rss_mb"],
            profile["vault_memory"]["instance_peak_rss_sum_mb"],
        ]
        colours += ["#8C8C8C", colour, colour]
        hatches += ["", "", "//"]
    bars = rss_axes.bar(names, values, color=colours)
    for bar, hatch in zip(bars, hatches, strict=True):
        bar.set_hatch(hatch)
    _label_bars(rss_axes, bars, "{:.0f} MB")
    rss_axes.set_title("Peak RSS (VmHWM) after the load; instance = arbiter + workers")
    rss_axes.set_ylabel("MiB")
    rss_axes.tick_params(axis="x", labelsize=7)
    _reference(rss_axes, reference["rss_mb"], f"reference: {reference['rss_mb']} MB (Node process)")

    meta = results["meta"]
    figure.suptitle(
        f"Vault benchmark, local backend unless noted — {meta['cpus']} CPUs, "
        f"{meta['load_shape'].split(' (', 1)[0]}, {meta['load']}, {meta['timestamp']}",
        fontsize=10,
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


if __name__ == "__main__":
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results.json")
    target = Path(sys.argv[2] if len(sys.argv) > 2 else "docs/bench.png")
    render(json.loads(source.read_text()), target)
    print(f"wrote {target}")
