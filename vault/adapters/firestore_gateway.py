"""The Firestore client and the one call policy every Firestore adapter follows:
a deadline on each call, retries on UNAVAILABLE / ABORTED within it (every write we
make is idempotent, see ``firestore_store``), and SDK errors stopped at the boundary.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from google.api_core import exceptions as google_errors
from google.cloud import firestore

from vault.adapters.google_calls import retry_within
from vault.errors import DependencyUnavailable

_RETRYABLE = (google_errors.ServiceUnavailable, google_errors.Aborted)
_T = TypeVar("_T")
FIRESTORE_UNAVAILABLE = "firestore_unavailable"  # the reason code in the log line


class FirestoreGateway:
    """The client and the call policy: one deadline and one retry rule for all calls."""

    def __init__(self, client: firestore.Client, timeout: float) -> None:
        self.client = client
        self.timeout = timeout
        self.retry = retry_within(timeout, *_RETRYABLE)

    def call(self, operation: Callable[[], _T]) -> _T:
        try:
            return operation()
        except (google_errors.GoogleAPICallError, google_errors.RetryError):
            raise DependencyUnavailable(reason=FIRESTORE_UNAVAILABLE) from None
