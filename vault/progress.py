"""Progress and summary for long-running commands (rewrap, refresh-due, revocations sync).

A command counts what happened to each item under a few names; ``Progress`` shows a
tqdm bar on stderr (rate, done / total, and the counts), and ``finish`` prints the
summary twice: one line for people on stderr, and one JSON object alone on stdout for
scripts (``{"command": ..., "<count>": n, ...}``). tqdm is imported on first use, so a
module that merely imports this one stays cheap.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO


class Progress:
    def __init__(
        self,
        command: str,
        counts: Sequence[str],
        *,
        total: int | None = None,
        initial: Mapping[str, int] | None = None,
        unit: str = "record",
        stream: TextIO | None = None,
    ) -> None:
        """``counts`` names every counter, in the order shown; ``initial`` carries the
        counters of an earlier, interrupted run that this one resumes."""
        from tqdm import tqdm

        self.command = command
        self.counts: dict[str, int] = {name: 0 for name in counts}
        self.counts.update(initial or {})
        self._stream = stream if stream is not None else sys.stderr
        done = self.counts.get("scanned", 0)
        self._bar = tqdm(
            total=total,
            initial=done,
            unit=unit,
            desc=command,
            file=self._stream,
            dynamic_ncols=True,
            # In a terminal the bar redraws often; in a log (a job, CI) a line a minute.
            mininterval=0.2 if self._stream.isatty() else 60.0,
            smoothing=0.1,
        )
        self._show()

    def add(self, name: str, amount: int = 1) -> None:
        """Count ``amount`` more under ``name`` (not an advance of the bar)."""
        self.counts[name] = self.counts.get(name, 0) + amount

    def advance(self, items: int = 1, **counts: int) -> None:
        """``items`` more items are done; ``counts`` says what happened to them."""
        for name, amount in counts.items():
            self.add(name, amount)
        self._show()
        self._bar.update(items)

    def finish(self, **extra: Any) -> dict[str, Any]:
        """Close the bar and print the summary; returns it."""
        self._show()
        self._bar.close()
        summary: dict[str, Any] = {"command": self.command, **self.counts, **extra}
        human = ", ".join(
            f"{name.replace('_', ' ')} {value}" for name, value in self.counts.items()
        )
        print(f"{self.command}: {human}", file=self._stream, flush=True)
        print(json.dumps(summary, sort_keys=False), flush=True)
        return summary

    def _show(self) -> None:
        shown = {name: value for name, value in self.counts.items() if name != "scanned"}
        self._bar.set_postfix(shown, refresh=False)


def parse_summary(output: str) -> dict[str, Any]:
    """The summary a command printed: the last line of its stdout that is a JSON object."""
    for line in reversed(output.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            parsed = json.loads(line)
            if isinstance(parsed, dict) and "command" in parsed:
                return parsed
    raise ValueError("no summary in the output")
