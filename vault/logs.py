"""Structured logs: one JSON object per line on stdout, in Cloud Logging's shape.

Callers pass explicit fields; nothing here formats request bodies or headers, so no
token or key can reach a log line by accident.
"""

from __future__ import annotations

import json
import sys
import threading
import traceback
from typing import Any

_lock = threading.Lock()
TRACE_FIELD = "logging.googleapis.com/trace"


def emit(severity: str, message: str, **fields: Any) -> None:
    entry = {"severity": severity, "message": message}
    entry.update((key, value) for key, value in fields.items() if value is not None)
    line = json.dumps(entry, separators=(",", ":"), default=str) + "\n"
    with _lock:
        sys.stdout.write(line)
        sys.stdout.flush()


def trace_field(header: str | None, project: str | None) -> str | None:
    """``X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1`` -> Cloud Logging's trace name."""
    if not header:
        return None
    trace_id = header.split("/", 1)[0].strip()
    if not trace_id or not trace_id.isalnum() or len(trace_id) > 64:
        return None
    return f"projects/{project}/traces/{trace_id}" if project else trace_id


def exception_summary(error: BaseException) -> dict[str, Any]:
    """The exception's type and where it was raised, never its message: messages of
    third-party exceptions may quote the values they were given."""
    frames = traceback.extract_tb(error.__traceback__)
    return {
        "errorType": type(error).__name__,
        "stack": [f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in frames],
    }
