"""A loopback TCP proxy for fault tests: cut, stall or slow the link between an appliance and the
relay, then heal it.

Each fault replaces the one before; ``heal`` clears them all. ``cut`` resets every connection and
refuses new ones (accepted, then reset at once). Threads, not asyncio: each accepted connection
gets two pump threads (one per direction) that read, wait while the link is stalled, pace to the
configured rate and forward.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from types import TracebackType

CHUNK = 4096
_LINGER_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on with 0 s: close() sends a RST


def _reset(sock: socket.socket) -> None:
    """Drop a connection hard; shutdown first, as close alone does not wake a blocked recv."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class Proxy:
    """127.0.0.1:<port> to ``target_port`` on loopback; ``with Proxy(...)`` or start/stop."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._cond = threading.Condition()
        self._cut = False
        self._stall_up = False
        self._stall_down = False
        self._rate: float | None = None  # bytes per second, each direction of each connection
        self._conns: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._closed = False
        self.forwarded_up = 0  # bytes delivered to the relay since start
        self.forwarded_down = 0  # bytes delivered back to the appliance
        self.held = 0  # bytes read while stalled and not yet forwarded

    # --- faults ---------------------------------------------------------------------------------

    def cut(self) -> None:
        """Reset every open connection and refuse new ones until ``heal``."""
        with self._cond:
            self._cut = True
            conns, self._conns = self._conns, set()
            self._cond.notify_all()
        for sock in conns:
            _reset(sock)

    def stall(self, *, up: bool = True, down: bool = True) -> None:
        """Accept and read, but stop forwarding (requests ``up``, answers ``down``)."""
        with self._cond:
            self._cut, self._rate = False, None
            self._stall_up, self._stall_down = up, down
            self._cond.notify_all()

    def slow(self, bytes_per_s: float) -> None:
        """Accept and forward, at most ``bytes_per_s`` each way on each connection."""
        with self._cond:
            self._cut = self._stall_up = self._stall_down = False
            self._rate = bytes_per_s
            self._cond.notify_all()

    def heal(self) -> None:
        """Back to a clean link: forward everything held, at full speed, accept again."""
        with self._cond:
            self._cut = self._stall_up = self._stall_down = False
            self._rate = None
            self._cond.notify_all()

    # --- life -----------------------------------------------------------------------------------

    def start(self) -> Proxy:
        self._spawn(self._accept_loop)
        return self

    def stop(self) -> None:
        self._closed = True
        self.cut()
        _reset(self._listener)  # shutdown wakes the blocked accept()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> Proxy:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed by stop()
            if self._cut:
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)  # the relay is down: the appliance sees a reset, as it would
                continue
            upstream.settimeout(None)
            with self._cond:
                self._conns.update((client, upstream))
            self._spawn(self._pump, client, upstream, True)
            self._spawn(self._pump, upstream, client, False)

    def _pump(self, src: socket.socket, dst: socket.socket, up: bool) -> None:
        try:
            while True:
                data = src.recv(CHUNK)
                if not data:
                    break
                self._forward(data, dst, up)
        except OSError:
            pass  # cut, or the other side went away
        finally:
            with self._cond:
                self._conns.discard(src)
                self._conns.discard(dst)
            _reset(src)
            _reset(dst)

    def _forward(self, data: bytes, dst: socket.socket, up: bool) -> None:
        with self._cond:
            self.held += len(data)
            while (self._stall_up if up else self._stall_down) and not self._cut:
                self._cond.wait(0.05)
            self.held -= len(data)
            if self._cut:
                raise OSError("link cut")
        view = memoryview(data)
        while view:
            rate = self._rate
            piece = view if rate is None else view[: max(1, int(rate / 20))]
            if self._cut:
                raise OSError("link cut")
            dst.sendall(piece)
            with self._cond:
                if up:
                    self.forwarded_up += len(piece)
                else:
                    self.forwarded_down += len(piece)
            view = view[len(piece) :]
            if rate is not None:
                time.sleep(len(piece) / rate)  # pacing the link, not waiting for luck
