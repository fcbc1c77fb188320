"""Background upkeep of the store file: a daemon thread with a read connection of its own."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import apsw

from edge.store.db import checkpoint, connect
from edge.store.errors import WriterStopped

Tick = Callable[[apsw.Connection], None]


class Background:
    """Calls ``tick(conn)`` every ``interval_s`` (and ``last(conn)`` once on stop)."""

    def __init__(
        self, name: str, path: Path, interval_s: float, tick: Tick, last: Tick | None = None
    ) -> None:
        self._name = name
        self._path = path
        self._interval_s = interval_s
        self._tick = tick
        self._last = last
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"{self._name} already started")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        conn = connect(self._path, writer=False)
        try:
            while not self._stop.wait(self._interval_s):
                self._tick(conn)
            if self._last is not None:
                self._last(conn)
        except WriterStopped:
            return  # the store is shutting down mid-task; what is stored is intact
        finally:
            conn.close()


def checkpointer(
    path: Path, interval_s: float = 0.5, due: Callable[[], str | None] | None = None
) -> Background:
    """Checkpoints the WAL in the background so no sale ever pays for one.

    ``due`` says when to copy the WAL into the database and how (a checkpoint mode, or None:
    not now; the store checkpoints while the writer is idle, or when the WAL grows large);
    without it, PASSIVE every ``interval_s``.
    """

    def tick(conn: apsw.Connection) -> None:
        mode = "PASSIVE" if due is None else due()
        if mode is not None:
            checkpoint(conn, mode)

    return Background("wal-checkpoint", path, interval_s, tick, last=checkpoint)
