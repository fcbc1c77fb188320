"""The store layer's errors.

StoreError
 ├── SchemaTooNew        the database was written by a newer fynlo-edge
 ├── NotInitialised      the data directory holds no store (run ``fynlo-edge init``)
 ├── WriterStopped       a write was submitted after the writer stopped
 └── DataDirBusy         another process (a server, a rebuild) holds the data directory
"""

from __future__ import annotations


class StoreError(Exception):
    """Base of every error raised by edge.store."""


class SchemaTooNew(StoreError):
    pass


class NotInitialised(StoreError):
    pass


class WriterStopped(StoreError):
    pass


class DataDirBusy(StoreError):
    pass
