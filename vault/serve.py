"""``python -m vault serve``: functions-framework's gunicorn, with every connection bounded.

Before anything binds, the whole Vault is built once (in a short-lived forked child, so
no gRPC channel exists in the process that forks the workers): a wrong or missing setting
ends the command with exit code 2 and one line naming it, never a server that answers
every request with a 500. A port already in use says so. "listening" is printed only once
gunicorn holds the socket.

Gunicorn's threaded worker hands each connection to a thread that reads the request with
blocking reads and no deadline: a client that sends part of its headers (or one byte of
a declared body) and stops holds that thread for as long as it keeps the socket open, and
a few such clients starve everyone. ``vault.serve_worker`` gives every request a read
deadline; the request line and headers have limits (functions-framework sets no limit on
the request line).
"""

from __future__ import annotations

import argparse
import errno
import os
import shlex
import socket
import sys
from pathlib import Path
from typing import Any

from vault.errors import ConfigurationError

_ROOT = Path(__file__).resolve().parent.parent

REQUEST_LINE_LIMIT = 8190  # bytes; a longer request line is answered 414
HEADER_FIELDS_LIMIT = 100
HEADER_FIELD_SIZE_LIMIT = 8190  # bytes per header line; more is 431
KEEPALIVE_SECONDS = 5  # an idle kept-alive connection is closed after this


def register(commands: Any) -> None:
    serve = commands.add_parser("serve", help="run the API through functions-framework")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument(
        "--example-key-file",
        metavar="FILE",
        help="after the listening line, print a curl example that uses the key in FILE",
    )
    serve.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    from vault.config import Settings

    try:
        settings = Settings.from_env()
        problem = _build_in_child()
        if problem is None:
            problem = _port_problem(arguments.host, arguments.port)
    except ConfigurationError as error:
        problem = error.message
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2

    from functions_framework import create_app
    from functions_framework._http import create_server

    app = create_app(target="vault", source=str(_ROOT / "main.py"))
    url = f"http://{arguments.host}:{arguments.port}"
    next_step = None
    if arguments.example_key_file:
        next_step = store_example(url, arguments.example_key_file)
    options = gunicorn_options(settings, url, next_step)
    create_server(app, debug=False, **options).run(arguments.host, arguments.port)
    return 0


def gunicorn_options(settings: Any, url: str, next_step: str | None = None) -> dict[str, Any]:
    """What we change of functions-framework's gunicorn configuration."""
    from vault import serve_worker

    serve_worker.READ_TIMEOUT_SECONDS = settings.request_read_timeout_seconds

    def when_ready(_server: Any) -> None:  # gunicorn holds the socket now
        print(f"vault listening on {url}", file=sys.stderr, flush=True)
        if next_step:
            print(next_step, file=sys.stderr, flush=True)

    return {
        "worker_class": "vault.serve_worker.BoundedThreadWorker",
        "limit_request_line": REQUEST_LINE_LIMIT,
        "limit_request_fields": HEADER_FIELDS_LIMIT,
        "limit_request_field_size": HEADER_FIELD_SIZE_LIMIT,
        "keepalive": KEEPALIVE_SECONDS,
        "when_ready": when_ready,
    }


def store_example(url: str, key_file: str) -> str:
    """The next step for a newcomer: store a credential with the saved key."""
    body = (
        '{"principalId":"alice","service":"github","accessToken":"ghp_example",'
        '"tokenExpiresAt":"2099-01-01T00:00:00Z"}'
    )
    return (
        "next, store a credential:\n"
        f"  curl -s -X POST {url}/v1/vault/credentials"
        f' -H "Authorization: Bearer $(cat {shlex.quote(key_file)})"'
        f" -H 'Content-Type: application/json' -d '{body}'"
    )


def _build_in_child() -> str | None:
    """Build the Vault the workers will build, in a forked child; its error, if any."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        os.close(read_end)
        devnull = os.open(os.devnull, os.O_WRONLY)  # libraries' warnings: the pipe says it
        os.dup2(devnull, 2)
        message = b""
        try:
            from vault import bootstrap
            from vault.config import Settings

            bootstrap.build(Settings.from_env())
        except ConfigurationError as error:
            message = error.message.encode()
        except Exception as error:  # noqa: BLE001 - reported, type only, in one line
            message = f"the vault could not be built ({type(error).__name__})".encode()
        os.write(write_end, message[:4000])
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        message = pipe.read()
    os.waitpid(pid, 0)
    return message.decode(errors="replace") or None


def _port_problem(host: str, port: int) -> str | None:
    hint = "choose another with PORT=... (make run) or --port"
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror:
        return f"--host {host!r} is not an address this machine has"
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is already in use; {hint}"
            return f"cannot listen on {host}:{port} ({os.strerror(error.errno or 0)}); {hint}"
    return None
