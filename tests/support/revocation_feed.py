"""The Grantex issuer's revocation feed, served on loopback for the tests: the snapshot
(``GET /v1/revocations``, paged) and the server-sent event stream
(``GET /v1/revocations/stream?since=N``: ``ready``, heartbeats every 0.2 s, and one
``revocation`` event per entry pushed by the test). It checks the API key and records
what each client asked, so a test can tell a snapshot from a resumed stream."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_KEY = "gx_feed_test_key"


class RevocationFeedServer:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.heartbeats = threading.Event()
        self.heartbeats.set()
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> RevocationFeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def publish(self, **entry: Any) -> dict[str, Any]:
        with self._changed:
            entry = {"seq": len(self.entries) + 1, **entry}
            self.entries.append(entry)
            self._changed.notify_all()
        return entry

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                feed.requests.append((url.path, query))
                if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                    self._json(401, {"message": "unauthorized"})
                elif url.path == "/v1/revocations":
                    since = int(query.get("since", ["0"])[0])
                    with feed._changed:
                        entries = [entry for entry in feed.entries if entry["seq"] > since]
                        cursor = len(feed.entries)
                    self._json(200, {"entries": entries, "cursor": cursor})
                elif url.path == "/v1/revocations/stream":
                    self._stream(int(query.get("since", ["0"])[0]))
                else:
                    self._json(404, {"message": "not found"})

            def _json(self, status: int, body: dict[str, Any]) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _stream(self, since: int) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                sent = since
                try:
                    self.wfile.write(b"event: ready\ndata: {}\n\n")
                    self.wfile.flush()
                    while True:
                        with feed._changed:
                            feed._changed.wait(0.2)
                            pending = [entry for entry in feed.entries if entry["seq"] > sent]
                        for entry in pending:
                            self.wfile.write(
                                b"event: revocation\ndata: " + json.dumps(entry).encode() + b"\n\n"
                            )
                            sent = entry["seq"]
                        if feed.heartbeats.is_set():
                            self.wfile.write(b"event: heartbeat\ndata: {}\n\n")
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    return

        return Handler
