"""The shared progress helper: counts shown on the bar, one parseable summary on stdout."""

from __future__ import annotations

import io

import pytest

from vault.progress import Progress, parse_summary


def test_summary_is_one_json_line_on_stdout_with_every_count(capsys):
    bar = io.StringIO()
    progress = Progress("demo", ["scanned", "done", "failed"], total=3, stream=bar)

    progress.advance(2, scanned=2, done=2)
    progress.advance(1, scanned=1, failed=1)
    summary = progress.finish(dry_run=True)

    out = capsys.readouterr().out
    assert parse_summary(out) == summary
    assert summary == {"command": "demo", "scanned": 3, "done": 2, "failed": 1, "dry_run": True}
    assert "3/3" in bar.getvalue() and "failed=1" in bar.getvalue()
    assert "demo: scanned 3, done 2, failed 1" in bar.getvalue()


def test_a_resumed_run_starts_from_the_carried_counts(capsys):
    bar = io.StringIO()
    progress = Progress(
        "demo", ["scanned", "done"], total=10, initial={"scanned": 6, "done": 6}, stream=bar
    )

    progress.advance(4, scanned=4, done=4)

    assert progress.finish()["done"] == 10
    assert "10/10" in bar.getvalue()


def test_output_without_a_summary_is_refused():
    with pytest.raises(ValueError):
        parse_summary("progress only\n[1, 2]\n")
