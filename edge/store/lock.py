"""One process at a time works on a data directory: the server, or a rebuild, never both.

Two servers on one store would each think they own the writer, and a rebuild that recomputes
every projection under a serving process would rewrite tables it is reading. The lock is an
``flock`` on ``.lock`` in the data directory, held for the life of the process and released by
the kernel however the process ends, so a kill -9 leaves no stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from edge.store.errors import DataDirBusy

LOCK_FILE = ".lock"


@contextmanager
def exclusive(data_dir: Path, doing: str) -> Iterator[None]:
    """Hold the data directory's lock while the body runs; DataDirBusy when another holds it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            raise DataDirBusy(
                f"{data_dir} is in use ({holder}); stop it before you {doing}"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"fynlo-edge pid {os.getpid()}".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
