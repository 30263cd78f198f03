"""Gunicorn's threaded worker, with a read deadline on every request.

Gunicorn waits (in a thread, at most 5 s, then in its poller) for a new connection's
first bytes; but once any byte has come, the thread reads the rest of the request with
blocking reads and no deadline. Here each request has ``READ_TIMEOUT_SECONDS`` from its
first read for its request line, headers and body: past it the connection counts as
closed by the client and the thread is free again. A stalled client therefore holds a
thread for at most that long, and each read or write has the same bound.

Gunicorn answers requests it cannot parse (400, 414 request line too long, 431 headers
too large, ...) itself, before the application sees them; ``write_json_error`` makes
those answers the vault's error shape, with ``nosniff``. Gunicorn still picks the status.

Imported only by ``python -m vault serve`` (gunicorn loads it by name in each worker).
"""

from __future__ import annotations

import json
import secrets
import socket
import time
from typing import Any

from gunicorn import util
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


_CODES = {400: "BAD_REQUEST", 403: "FORBIDDEN", 500: "INTERNAL_ERROR"}


def write_json_error(sock: Any, status: int, reason: str, _message: str) -> None:
    """Gunicorn's own error answer, in the error shape. Its message (which may quote
    the request line) is not sent: the status and a fixed phrase say enough."""
    request_id = secrets.token_hex(16)
    body = json.dumps(
        {
            "message": reason.lower(),
            "code": _CODES.get(status, "BAD_REQUEST" if status < 500 else "INTERNAL_ERROR"),
            "requestId": request_id,
        },
        separators=(",", ":"),
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "Cache-Control: no-store\r\n"
        f"X-Request-Id: {request_id}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1")
    util.write_nonblock(sock, head + body)


# Gunicorn's workers call util.write_error by name for these answers; in this process
# (the vault's own server) they get the error shape instead of an HTML page.
util.write_error = write_json_error
