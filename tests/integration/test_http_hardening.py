"""The pipeline against hostile requests: a huge path is logged as a bounded prefix."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.http_app import PATH
from vault.http import LOGGED_PATH_CHARS


def _log_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_a_long_path_is_logged_as_a_bounded_prefix(
    client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    long_path = PATH + "/" + "p" * 100_000

    response = client.get(long_path)

    assert response.status_code == 404
    output = capsys.readouterr().out
    assert len(output) < 4 * LOGGED_PATH_CHARS + 2_000  # one line, not the path twice
    (line,) = [entry for entry in _log_lines(output) if entry.get("status") == 404]
    assert line["path"].startswith(PATH + "/ppp")
    assert len(line["path"]) <= LOGGED_PATH_CHARS + 3
    assert len(line["message"]) <= LOGGED_PATH_CHARS + 40
