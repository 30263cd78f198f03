"""Gunicorn's threaded worker, with a read deadline on every request.

Gunicorn waits (in a thread, at most 5 s, then in its poller) for a new connection's
first bytes; but once any byte has come, the thread reads the rest of the request with
blocking reads and no deadline. Here each request has ``READ_TIMEOUT_SECONDS`` from its
first read for its request line, headers and body: past it the connection counts as
closed by the client and the thread is free again. A stalled client therefore holds a
thread for at most that long, and each read or write has the same bound.

Imported only by ``python -m vault serve`` (gunicorn loads it by name in each worker).
"""

from __future__ import annotations

import socket
import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

READ_TIMEOUT_SECONDS = 10.0  # set from VAULT_REQUEST_READ_TIMEOUT_SECONDS before the fork


class DeadlineSocket(socket.socket):
    """A client socket whose reads end (as at end of stream) at the request's deadline."""

    __slots__ = ("deadline",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline: float | None = None

    @classmethod
    def adopt(cls, plain: socket.socket) -> DeadlineSocket:
        blocking = plain.getblocking()
        adopted = cls(plain.family, plain.type, plain.proto, fileno=plain.detach())
        adopted.setblocking(blocking)
        return adopted

    def setblocking(self, flag: bool) -> None:
        # Gunicorn switches to blocking mode to read and write: a bounded one instead.
        if flag:
            self.settimeout(READ_TIMEOUT_SECONDS)
        else:
            super().setblocking(False)

    def recv(self, size: int, flags: int = 0) -> bytes:
        if self.gettimeout() == 0.0:  # non-blocking use (gunicorn's own probes)
            return super().recv(size, flags)
        now = time.monotonic()
        if self.deadline is None:
            self.deadline = now + READ_TIMEOUT_SECONDS
        remaining = self.deadline - now
        if remaining <= 0:
            return b""
        self.settimeout(min(remaining, READ_TIMEOUT_SECONDS))
        try:
            return super().recv(size, flags)
        except TimeoutError:
            return b""


class BoundedThreadWorker(ThreadWorker):  # type: ignore[misc]
    def enqueue_req(self, conn: Any) -> None:
        if not isinstance(conn.sock, DeadlineSocket):  # a new connection
            conn.sock = DeadlineSocket.adopt(conn.sock)
        super().enqueue_req(conn)

    def handle(self, conn: Any) -> Any:
        conn.sock.deadline = None  # the next request's clock starts at its first read
        return super().handle(conn)
