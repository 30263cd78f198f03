"""Count the RPCs a real google-cloud client sends, at its gRPC channel."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import grpc


class RpcCounter(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _count(self, details: Any) -> None:
        with self._lock:
            self.calls[details.method.rsplit("/", 1)[-1]] += 1

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        self._count(details)
        return continuation(details, request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        self._count(details)
        return continuation(details, request)

    def total(self) -> int:
        return sum(self.calls.values())

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()


def count_firestore_rpcs(client: Any, emulator_host: str) -> RpcCounter:
    """Give a firestore.Client a counting channel to the emulator (before first use)."""
    from google.cloud.firestore_v1.services.firestore import client as gapic_client
    from google.cloud.firestore_v1.services.firestore.transports import grpc as gapic_grpc

    counter = RpcCounter()
    channel = grpc.intercept_channel(grpc.insecure_channel(emulator_host), counter)
    transport = gapic_grpc.FirestoreGrpcTransport(host=emulator_host, channel=channel)
    # The client builds its GAPIC client lazily; this hands it one built on our channel.
    client._firestore_api_internal = gapic_client.FirestoreClient(transport=transport)
    return counter
