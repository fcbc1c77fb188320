"""Fields that two sides edit, each value stamped with a hybrid logical clock: the latest wins.

A Yjs map resolves two concurrent writes of one key by client id, which is random here: an older
edit could beat a newer one, differently after every restart, and silently. So an editable field
is never written under its own name. Each write adds a *cell* under ``"{field}@{stamp}"`` and
deletes the cells of that field its writer could see; the value of the field is the cell with
the highest stamp. The stamp is a hybrid logical clock - wall milliseconds, a counter, the
replica that wrote it - taken above every stamp of the field the writer saw, so an edit made
after another always wins, whatever the clocks say, and concurrent edits go to the later wall
time (ties to the replica id: the same answer on every replica).

Two cells of one field survive a merge only when neither writer saw the other's: that is a
conflict. The losing cell stays in the document, so every replica lists the same conflict (what,
both values, who, when, which replica) until a person writes the field again, which resolves it.

A cell's text is ``{"v": <value>, "by": <who>}``. Keys written before stamps existed (the field
name alone, its plain JSON value) read as the oldest cell of their field.

A cell that cannot be read at all (not text, not JSON, a key that is no stamp) is, for a reader
that asks for it (``unreadable=``), left out: its field reads as its latest readable cell, the
same on every replica, and the reader reports the cell. A write of the field deletes such cells
with the others it saw, which heals the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any, NamedTuple

import msgspec

SEP = "@"
_encoder = msgspec.json.Encoder()


class Stamp(NamedTuple):
    """A hybrid logical clock reading; tuples compare field by field, as the clock orders."""

    ms: int
    counter: int
    replica: str

    def text(self) -> str:
        return f"{self.ms:013d}.{self.counter:04d}.{self.replica}"


ZERO = Stamp(0, 0, "")  # the stamp of a cell written before stamps existed


class Cell(msgspec.Struct, frozen=True, kw_only=True):
    """One written value of a field."""

    key: str  # where it sits in its map
    field: str
    stamp: Stamp
    value: Any
    by: str | None = None


class Stamping(NamedTuple):
    """What one command's writes are stamped with: its clock reading, its replica, its actor."""

    now_ms: int
    replica: str  # a store's appliance: the store id; the relay: "relay"
    by: str | None  # the employee or owner who made the edit


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    v: Any
    by: str | None = None


def parse_key(key: str) -> tuple[str, Stamp]:
    """(field, stamp) of a cell's key; a key with no stamp is the field itself, stamp ZERO."""
    field, sep, rest = key.partition(SEP)
    if not sep:
        return key, ZERO
    parts = rest.split(".", 2)
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        raise ValueError(f"not a stamped key: {key!r}")
    return field, Stamp(int(parts[0]), int(parts[1]), parts[2])


def cell_key(field: str, stamp: Stamp) -> str:
    return f"{field}{SEP}{stamp.text()}"


def read_cell(key: str, text: Any) -> Cell:
    """A cell from its key and text; ValueError/msgspec errors for anything else."""
    field, stamp = parse_key(key)
    if not isinstance(text, str):
        raise ValueError(f"{key!r} does not hold text")
    if stamp == ZERO:
        return Cell(key=key, field=field, stamp=stamp, value=msgspec.json.decode(text))
    envelope = msgspec.json.decode(text, type=Envelope)
    return Cell(key=key, field=field, stamp=stamp, value=envelope.v, by=envelope.by)


UNREADABLE = (ValueError, msgspec.DecodeError, msgspec.ValidationError)  # what read_cell raises


def cells(
    mapping: Mapping[str, Any], only: str | None = None, unreadable: list[str] | None = None
) -> dict[str, list[Cell]]:
    """The cells of a map by field (of ``only`` that field), the winner of each first.

    A cell that cannot be read raises, unless ``unreadable`` is given: then its key is added
    there and the cell left out.
    """
    found: dict[str, list[Cell]] = {}
    for key, text in mapping.items():
        if only is not None and key != only and not key.startswith(only + SEP):
            continue
        try:
            cell = read_cell(key, text)
        except UNREADABLE:
            if unreadable is None:
                raise
            unreadable.append(key)
            continue
        found.setdefault(cell.field, []).append(cell)
    for field_cells in found.values():
        # Equal stamps happen only in data no writer of ours made (two spellings of one stamp):
        # the key breaks the tie, so every replica still reads the same winner.
        field_cells.sort(key=lambda c: (c.stamp, c.key), reverse=True)
    return found


def values(mapping: Mapping[str, Any], unreadable: list[str] | None = None) -> dict[str, Any]:
    """Each field's current value: its winning cell's (see ``cells`` for ``unreadable``)."""
    return {field: found[0].value for field, found in cells(mapping, None, unreadable).items()}


def next_stamp(now_ms: int, seen: Iterable[Stamp], replica: str) -> Stamp:
    """A stamp above every stamp in ``seen`` and no earlier than ``now_ms`` (a clock set back
    never makes a new edit lose to an older one it saw)."""
    top = max(seen, default=ZERO)
    if now_ms > top.ms:
        return Stamp(now_ms, 0, replica)
    return Stamp(top.ms, top.counter + 1, replica)


def write(mapping: MutableMapping[str, Any], field: str, value: Any, stamping: Stamping) -> bool:
    """Write ``field`` as a new cell and delete the cells of it this writer saw (resolving any
    conflict among them); False, writing nothing, when ``value`` is already its sole value (an
    unchanged field keeps its last writer)."""
    unreadable: list[str] = []
    seen = cells(mapping, only=field, unreadable=unreadable).get(field, [])
    plain = msgspec.to_builtins(value)
    if len(seen) == 1 and seen[0].value == plain and not unreadable:
        return False
    stamp = next_stamp(
        stamping.now_ms, [c.stamp for c in seen] + _stamps(unreadable), stamping.replica
    )
    for key in [c.key for c in seen] + unreadable:  # an unreadable cell of the field goes too
        del mapping[key]
    mapping[cell_key(field, stamp)] = _text(plain, stamping.by)
    return True


def _stamps(keys: list[str]) -> list[Stamp]:
    """The stamps of those keys that carry one (an unreadable cell may still have a good key)."""
    found = []
    for key in keys:
        try:
            found.append(parse_key(key)[1])
        except ValueError:
            continue
    return found


def new_cells(fields: Mapping[str, Any], stamping: Stamping) -> dict[str, str]:
    """The cells of a new entity (its writer minted its id: nothing to see or delete)."""
    stamp = Stamp(stamping.now_ms, 0, stamping.replica)
    return {
        cell_key(name, stamp): _text(msgspec.to_builtins(value), stamping.by)
        for name, value in fields.items()
    }


def _text(value: Any, by: str | None) -> str:
    return _encoder.encode(Envelope(v=value, by=by)).decode()


class Conflict(msgspec.Struct, frozen=True, kw_only=True):
    """A concurrent edit that lost: both values, who wrote them, when and where."""

    field: str
    value: Any
    by: str | None
    at_ms: int
    replica: str
    lost_value: Any
    lost_by: str | None
    lost_at_ms: int
    lost_replica: str
    lost_key: str  # the losing cell: a resolution deletes it


def conflicts(mapping: Mapping[str, Any], unreadable: list[str] | None = None) -> list[Conflict]:
    """Every field of the map with more than one cell: its winner against each loser (see
    ``cells`` for ``unreadable``)."""
    found = []
    for field, field_cells in cells(mapping, None, unreadable).items():
        winner = field_cells[0]
        for loser in field_cells[1:]:
            found.append(
                Conflict(
                    field=field,
                    value=winner.value,
                    by=winner.by,
                    at_ms=winner.stamp.ms,
                    replica=winner.stamp.replica,
                    lost_value=loser.value,
                    lost_by=loser.by,
                    lost_at_ms=loser.stamp.ms,
                    lost_replica=loser.stamp.replica,
                    lost_key=loser.key,
                )
            )
    return found


class ConflictRecord(Conflict, frozen=True, kw_only=True):
    """A conflict as an owner or a manager sees it listed: where it is, then what it is."""

    doc_id: str
    collection: str
    entity_id: str  # the entity; for a flat value (a setting), the setting's name
