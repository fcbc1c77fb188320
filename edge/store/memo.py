"""The writer's memo of read-mostly projections (settings, catalog, seals).

Every sale reads the store settings and the catalog rows it prices from; they change rarely,
and only through the writer. Memoised values are shared between commands: treat them as frozen
(use ``msgspec.structs.replace``). The memo keeps what the writer's commands read, per collection,
and the writer forgets a collection the moment one of its own intents (or a remote update) touches
it, and everything when a command or a commit fails. Only the writer's connection has a memo:
readers on other threads always query.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import apsw

T = TypeVar("T")


class Memo:
    """Values computed from projections, grouped by the collection they were read from."""

    def __init__(self) -> None:
        self._values: dict[str, dict[Hashable, Any]] = {}

    def get(self, collection: str, key: Hashable, compute: Callable[[], T]) -> T:
        """The memoised value for ``key`` read from ``collection``, computing it once."""
        bucket = self._values.setdefault(collection, {})
        if key not in bucket:
            bucket[key] = compute()
        value: T = bucket[key]
        return value

    def has(self, collection: str, key: Hashable) -> bool:
        return key in self._values.get(collection, {})

    def forget(self, collection: str) -> None:
        self._values.pop(collection, None)

    def clear(self) -> None:
        self._values.clear()


_MEMOS: weakref.WeakKeyDictionary[apsw.Connection, Memo] = weakref.WeakKeyDictionary()


def attach(conn: apsw.Connection) -> Memo:
    """Give the writer's connection its memo."""
    memo = Memo()
    _MEMOS[conn] = memo
    return memo


def memo_of(conn: apsw.Connection) -> Memo | None:
    """The memo of the writer's connection; None for any other connection."""
    return _MEMOS.get(conn)


def memoised(conn: apsw.Connection, collection: str, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()`` memoised when ``conn`` is the writer's connection, else computed fresh."""
    memo = memo_of(conn)
    return compute() if memo is None else memo.get(collection, key, compute)
