"""Data directories only their owner can read: the stores, keys and credentials they hold.

Each command of ours starts with ``restrict_new_files`` (umask 077), so whatever the process
creates is owner-only; the places that make a data directory, a store file or a secret also
make it owner-only themselves (a caller that is not one of our commands gets the same), and
tighten one that exists. SQLite gives a database's -wal and -shm files the database's own mode.
"""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE, FILE_MODE = 0o700, 0o600


def restrict_new_files() -> None:
    """Every file and directory this process creates from now on is its owner's only."""
    os.umask(0o077)


def private_dir(path: Path) -> Path:
    """``path`` as an owner-only directory (its missing parents are made as the umask says)."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    path.chmod(DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """``path`` as an owner-only file; an empty one when it does not exist (SQLite opens an
    empty file as a new database, keeping its mode)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    path.chmod(FILE_MODE)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to an owner-only file: never readable by others, not even for a moment."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    path.chmod(FILE_MODE)  # a file that existed keeps its old mode through os.open
