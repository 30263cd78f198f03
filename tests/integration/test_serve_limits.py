"""``python -m vault serve`` under hostile clients: stalled connections, huge request
lines and headers. The server runs in a subprocess, as an attacker would meet it."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.served import serving

READ_TIMEOUT = 2  # seconds, VAULT_REQUEST_READ_TIMEOUT_SECONDS for these servers


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    env = {
        **os.environ,
        "VAULT_BACKEND": "local",
        "VAULT_DATA_DIR": str(tmp_path / "data"),
        "WORKERS": "1",
        "THREADS": "4",
        "VAULT_REQUEST_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT),
    }
    with serving(env) as base_url:
        parts = urlsplit(base_url)
        assert parts.hostname is not None and parts.port is not None
        yield parts.hostname, parts.port


def _raw_exchange(address: tuple[str, int], request: bytes) -> bytes:
    with socket.create_connection(address, timeout=30) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
        return received


def test_stalled_clients_do_not_starve_a_normal_request(server: tuple[str, int]) -> None:
    # Eight connections, twice the threads: half stop inside their headers, half after
    # one byte of a declared 100-byte body. Each is bounded, so a normal request is
    # still answered (the client below waits far longer than the bound, not forever).
    with contextlib.ExitStack() as stack:
        stalled = []
        for number in range(8):
            connection = stack.enter_context(socket.create_connection(server, timeout=30))
            if number % 2:
                connection.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: vault\r\n")
            else:
                connection.sendall(
                    b"POST /v1/vault/credentials HTTP/1.1\r\nHost: vault\r\n"
                    b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
                )
            stalled.append(connection)
        time.sleep(0.5)  # let the stalled connections take every thread first

        host, port = server
        with urllib.request.urlopen(f"http://{host}:{port}/openapi.json", timeout=60) as reply:
            assert reply.status == 200
            assert b'"openapi"' in reply.read()

        # And the server let go of each stalled connection (closed it, or answered it
        # with an error), rather than holding it open.
        for connection in stalled:
            received = b""
            while chunk := connection.recv(65536):
                received += chunk
            assert received == b"" or received.startswith(b"HTTP/1.1 4")


def test_a_huge_request_line_is_refused_before_the_application(server: tuple[str, int]) -> None:
    path = "/v1/vault/credentials/" + "a" * 64 * 1024
    answer = _raw_exchange(server, f"GET {path} HTTP/1.1\r\nHost: vault\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 414 ")
    assert b"a" * 1024 not in answer
    _assert_error_shape(answer, "BAD_REQUEST")


def _assert_error_shape(answer: bytes, code: str) -> None:
    head, _, body = answer.partition(b"\r\n\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(b":") for line in head.split(b"\r\n")[1:])
    }
    assert headers[b"x-content-type-options"] == b"nosniff"
    assert headers[b"content-type"] == b"application/json"
    error = json.loads(body)
    assert error["code"] == code and error["message"]
    assert headers[b"x-request-id"].decode() == error["requestId"]


def test_a_request_gunicorn_cannot_parse_is_answered_in_the_error_shape(
    server: tuple[str, int],
) -> None:
    answer = _raw_exchange(server, b"GET /openapi.json HTTP/1.1\r\nBad Header\r\n\r\n")

    assert answer.startswith(b"HTTP/1.1 400 ")
    _assert_error_shape(answer, "BAD_REQUEST")


def test_too_many_or_too_large_headers_are_refused(server: tuple[str, int]) -> None:
    large = _raw_exchange(
        server,
        b"GET /openapi.json HTTP/1.1\r\nHost: vault\r\nX-Big: " + b"b" * 16_384 + b"\r\n\r\n",
    )
    assert large.split(b" ", 2)[1] in (b"400", b"431")
    _assert_error_shape(large, "BAD_REQUEST")
    many = b"".join(b"X-H%d: v\r\n" % number for number in range(200))
    numerous = _raw_exchange(
        server, b"GET /openapi.json HTTP/1.1\r\nHost: vault\r\n" + many + b"\r\n"
    )
    assert numerous.split(b" ", 2)[1] in (b"400", b"431")
