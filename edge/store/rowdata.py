"""The ``data`` column of projection rows: an entity's JSON, deflated against a preset dictionary.

Every projected entity keeps its whole JSON beside its indexed columns, so a read decodes one
value. As plain text that JSON was most of the store file (an order's alone is about 1.8 KB, and
a busy day holds tens of thousands). Small JSON values hardly compress on their own; deflated
with a dictionary of what such values look like (field names, common words and shapes), they
shrink several-fold, and inflating one costs about two microseconds.

A packed value is one version byte and the raw deflate stream. The dictionary of a version never
changes: a new dictionary takes a new version, and every version stays readable. Text (rows
written before packing) is read as it is. Projections are local and rebuildable, so this never
crosses a device.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import Any, TypeVar

import msgspec

from edge.store.rowdata_dictionaries import DICTIONARIES

S = TypeVar("S", bound=msgspec.Struct)
VERSION = 1
_LEVEL = 1  # the dictionary does the work: a higher level costs twice the time for 10 % less


def dictionary(version: int = VERSION) -> bytes:
    """The preset dictionary of ``version``: frozen bytes (edge.store.rowdata_dictionaries), never
    built from today's structs, so rows packed by any release stay readable."""
    try:
        return DICTIONARIES[version]
    except KeyError:
        raise ValueError(f"unknown row data version {version}") from None


def _zdict() -> bytes:
    return dictionary(VERSION)


def pack(text: str) -> bytes:
    """The stored form of an entity's JSON."""
    deflater = zlib.compressobj(_LEVEL, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, _zdict())
    return bytes([VERSION]) + deflater.compress(text.encode()) + deflater.flush()


def unpack(data: bytes | str) -> bytes | str:
    """The JSON of a stored value (text is JSON already)."""
    if isinstance(data, str):
        return data
    inflater = zlib.decompressobj(-15, dictionary(data[0]))
    return inflater.decompress(data[1:]) + inflater.flush()


def decode(data: bytes | str, type_: type[S]) -> S:
    """The entity of a ``data`` column."""
    return msgspec.json.decode(unpack(data), type=type_)


def decode_rows(rows: Iterable[Any], type_: type[S]) -> list[S]:
    """Decode the ``data`` column (first of each row) of projection rows into structs."""
    return [decode(row[0], type_) for row in rows]
