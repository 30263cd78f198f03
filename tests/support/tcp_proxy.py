"""A loopback TCP proxy that can be cut: how the tests make Firestore go away.

``cut()`` drops every open connection and refuses new ones (the peer sees a reset:
gRPC reports UNAVAILABLE); ``blackhole()`` accepts and reads but never forwards (gRPC
waits until its deadline); ``restore()`` forwards again.
"""

from __future__ import annotations

import contextlib
import socket
import threading

from tests.support.firestore_emulator import free_port


class TcpProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.mode = "forward"  # forward | cut | blackhole
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        self.mode = "cut"
        self._drop_all()

    def blackhole(self) -> None:
        self.mode = "blackhole"
        self._drop_all()

    def restore(self) -> None:
        self.mode = "forward"
        self._drop_all()  # black-holed connections would otherwise linger

    def close(self) -> None:
        self._running = False
        self._listener.close()
        self._drop_all()

    def _drop_all(self) -> None:
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                    sock.close()
            self._sockets.clear()

    def _accept(self) -> None:
        while self._running:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.mode == "cut":
                client.close()
                continue
            with self._lock:
                self._sockets.add(client)
            if self.mode == "blackhole":
                threading.Thread(target=self._swallow, args=(client,), daemon=True).start()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.add(upstream)
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _swallow(client: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while client.recv(65536):
                pass

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while self.mode == "forward":
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.close()
