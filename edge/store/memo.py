"""The writer's memo of read-mostly projections (settings, catalog, seals).

Every sale reads the store settings and the catalog rows it prices from; they change rarely,
and only through the writer. Memoised values are shared between commands: treat them as frozen
(use ``msgspec.structs.replace``). The memo keeps what the writer's commands read, per collection
(or per tuple of collections, for a value worked out from several), and the writer forgets a
collection, and every tuple naming it, the moment one of its own intents (or a remote update)
touches it, and everything when a command or a commit fails. Only the writer's connection has a
memo: readers on other threads always query.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import apsw

T = TypeVar("T")
Source = str | tuple[str, ...]  # the collection a value was read from, or all of them


class Memo:
    """Values computed from projections, grouped by the collection(s) they were read from."""

    def __init__(self) -> None:
        self._values: dict[Source, dict[Hashable, Any]] = {}
        self._dependents: dict[str, set[Source]] = {}  # collection -> tuples naming it

    def get(self, source: Source, key: Hashable, compute: Callable[[], T]) -> T:
        """The memoised value for ``key`` read from ``source``, computing it once."""
        bucket = self.bucket(source)
        if key not in bucket:
            bucket[key] = compute()
        value: T = bucket[key]
        return value

    def bucket(self, source: Source) -> dict[Hashable, Any]:
        """Every value memoised from ``source``, by key: for callers that look up many keys."""
        bucket = self._values.get(source)
        if bucket is None:
            bucket = self._values[source] = {}
            if isinstance(source, tuple):
                for name in source:
                    self._dependents.setdefault(name, set()).add(source)
        return bucket

    def forget(self, collection: str) -> None:
        self._values.pop(collection, None)
        for source in self._dependents.pop(collection, ()):
            self._values.pop(source, None)

    def clear(self) -> None:
        self._values.clear()
        self._dependents.clear()


# A plain dict, not a WeakKeyDictionary: every command asks it a dozen times, and the writer
# detaches its connection before closing it.
_MEMOS: dict[apsw.Connection, Memo] = {}


def attach(conn: apsw.Connection) -> Memo:
    """Give the writer's connection its memo."""
    memo = Memo()
    _MEMOS[conn] = memo
    return memo


def detach(conn: apsw.Connection) -> None:
    """Forget the memo of a connection about to close."""
    _MEMOS.pop(conn, None)


def memo_of(conn: apsw.Connection) -> Memo | None:
    """The memo of the writer's connection; None for any other connection."""
    return _MEMOS.get(conn)


def memoised(conn: apsw.Connection, source: Source, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()`` memoised when ``conn`` is the writer's connection, else computed fresh."""
    memo = memo_of(conn)
    return compute() if memo is None else memo.get(source, key, compute)
