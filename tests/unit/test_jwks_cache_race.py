"""The JWKS cache under concurrent first requests: a request that arrives while the
first fetch is in flight waits for it instead of answering 503."""

from __future__ import annotations

import threading
from typing import Any

from tests.support.issuer import new_rsa_key, public_jwk
from vault.grants import JwksCache


def test_a_request_during_the_first_fetch_waits_for_its_keys():
    document = {"keys": [public_jwk(new_rsa_key(), "k1")]}
    fetching = threading.Event()
    release = threading.Event()

    def slow_load() -> Any:
        fetching.set()
        release.wait(10)
        return document

    cache = JwksCache(slow_load)
    results: dict[str, Any] = {}

    def first() -> None:
        results["first"] = cache.key_for("k1")

    def second() -> None:
        try:
            results["second"] = cache.key_for("k1")
        except Exception as error:  # the failure is what we look for
            results["second"] = error

    first_thread = threading.Thread(target=first)
    first_thread.start()
    assert fetching.wait(10)
    second_thread = threading.Thread(target=second)
    second_thread.start()
    release.set()
    first_thread.join(10)
    second_thread.join(10)

    assert results["first"] is not None
    assert results["second"] is not None and not isinstance(results["second"], Exception)
