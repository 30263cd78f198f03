"""A grant issuer's JWKS served over HTTP on loopback, with the faults tests need: down
(503), a redirect elsewhere, and a first answer held back until the test releases it."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class JwksServer:
    def __init__(self, document: dict[str, Any] | None = None) -> None:
        self.document: dict[str, Any] = document if document is not None else {"keys": []}
        self.hits = 0
        self.down = False
        self.redirect_to: str | None = None
        # Set by the test: the first request waits until ``release`` is set.
        self.hold_first: threading.Event | None = None
        self.first_request = threading.Event()  # set when the first request arrives
        self._hits_lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with outer._hits_lock:
                    outer.hits += 1
                    first = outer.hits == 1
                if first:
                    outer.first_request.set()
                    if outer.hold_first is not None:
                        outer.hold_first.wait(timeout=30)
                if outer.redirect_to is not None:
                    self.send_response(302)
                    self.send_header("Location", outer.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if outer.down:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps(outer.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        if self.hold_first is not None:
            self.hold_first.set()
        self._server.shutdown()
        self._server.server_close()
