"""A loopback TCP proxy that can cut a connection in the middle of a response, as a flaky network would."""

from __future__ import annotations

import socket
import struct
import threading
from typing import List, Optional, Tuple


class CuttingProxy:
    """Forwards 127.0.0.1:port to ``upstream``. The first connection whose request line contains
    ``cut_path`` is closed abruptly right after the proxy has relayed ``marker`` (plus ``extra`` bytes) of
    the answer; every other connection is relayed whole. ``requests`` records each request head."""

    def __init__(self, upstream: Tuple[str, int], cut_path: str, marker: bytes, extra: int = 12) -> None:
        self.upstream = upstream
        self.cut_path = cut_path.encode()
        self.marker = marker
        self.extra = extra
        self.requests: List[bytes] = []
        self.cuts = 0
        self._cut_done = False
        self._lock = threading.Lock()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._threads: List[threading.Thread] = []
        self._sockets: List[socket.socket] = []
        self._accept_thread = threading.Thread(target=self._accept, daemon=True)
        self._accept_thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._stop.set()
        self._accept_thread.join(timeout=5)
        self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:  # wakes relays blocked on an idle keep-alive connection
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self._threads:
            t.join(timeout=5)

    def __enter__(self) -> "CuttingProxy":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(client,), daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.upstream, timeout=10)
        client.settimeout(10)
        with self._lock:
            self._sockets += [client, upstream]
        try:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(65536)
                if not chunk:
                    return
                head += chunk
            with self._lock:
                self.requests.append(head)
                cut = (not self._cut_done) and self.cut_path in head.split(b"\r\n", 1)[0]
                if cut:
                    self._cut_done = True
            upstream.sendall(head)  # the client's requests here have no body
            relayed = b""
            while True:
                try:
                    chunk = upstream.recv(65536)
                except socket.timeout:
                    return
                if not chunk:
                    return
                if cut:
                    seen = relayed + chunk
                    at = seen.find(self.marker)
                    if at >= 0:
                        stop = at + len(self.marker) + self.extra
                        client.sendall(seen[len(relayed):stop])
                        with self._lock:
                            self.cuts += 1
                        # RST instead of FIN: the abrupt end a dead network path looks like.
                        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        return
                    relayed = seen[-len(self.marker):]
                client.sendall(chunk)
        except OSError:
            return
        finally:
            client.close()
            upstream.close()


def request_header(head: bytes, name: str) -> Optional[str]:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name.lower().encode():
            return value.strip().decode()
    return None
