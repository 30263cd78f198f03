"""The call policy shared by the Google Cloud adapters: one deadline per call, and
retries with exponential backoff, within that deadline, on the given transient errors
only (callers pass the errors after which repeating the call is safe)."""

from __future__ import annotations

from google.api_core import retry as google_retry


def retry_within(timeout: float, *transient: type[Exception]) -> google_retry.Retry:
    return google_retry.Retry(
        predicate=google_retry.if_exception_type(*transient),
        initial=0.05,
        maximum=1.0,
        multiplier=2.0,
        timeout=timeout,
    )
