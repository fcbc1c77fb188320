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
from functools import cache
from typing import Any, TypeVar

import msgspec

from shared.schemas import documents as d

S = TypeVar("S", bound=msgspec.Struct)
VERSION = 1
_LEVEL = 1  # the dictionary does the work: a higher level costs twice the time for 10 % less
_ID = "01a2461f-dbd5-733a-a625-9b1917f48d53"


@cache
def dictionary(version: int = VERSION) -> bytes:
    """The preset dictionary of ``version``: sample entities of every projected kind, the most
    common last (deflate finds nearer matches cheaper)."""
    if version != 1:
        raise ValueError(f"unknown row data version {version}")
    line = d.OrderLine(
        id=_ID,
        item_id=_ID,
        name="Latte",
        unit_price_minor=380,
        modifiers=[d.LineModifier(option_id=_ID, group_id=_ID, name="Oat", price_delta_minor=40)],
        quantity=1,
        taxes=[d.LineTax(rate_id=_ID, name="VAT 20%", rate="0.20")],
    )
    samples: list[msgspec.Struct] = [
        d.Employee(id=_ID, name="Sam", role="cashier", pin_hash="$argon2id$v=19$m=65536,t=3,p=4$"),
        d.Category(id=_ID, name="Coffee", tax_rate_ids=[_ID]),
        d.Item(id=_ID, name="Croissant", category_id=_ID, price_minor=280),
        d.DrawerSession(id=_ID, opened_by=_ID, opened_at_ms=1796472822741, float_minor=7000),
        d.Refund(
            id=_ID,
            order_id=_ID,
            payment_id=_ID,
            tender="card",
            amount_minor=280,
            reason="",
            taken_by=_ID,
            device_id=_ID,
            taken_at_ms=1796472822741,
        ),
        d.AuditEntry(
            id=_ID,
            at_ms=1796472822741,
            actor_id=_ID,
            device_id=_ID,
            action="order.created",
            entity_type="order",
            entity_id=_ID,
            detail={
                "number": 1,
                "lines": 3,
                "then": [{"action": "order.payment_taken", "payment_id": _ID, "tender": "cash"}],
            },
        ),
        d.DrawerEntry(
            id=_ID,
            session_id=_ID,
            kind="sale",
            amount_minor=1160,
            reference=_ID,
            by=_ID,
            at_ms=1796472822741,
        ),
        d.Payment(
            id=_ID,
            order_id=_ID,
            tender="cash",
            amount_minor=1160,
            tendered_minor=2000,
            change_minor=840,
            drawer_session_id=_ID,
            taken_by=_ID,
            device_id=_ID,
            taken_at_ms=1796472822741,
        ),
        d.Order(
            id=_ID,
            number=1,
            business_day="2026-12-05",
            state="paid",
            lines=[line, line],
            tax_mode="inclusive",
            currency="GBP",
            totals=d.OrderTotals(),
            device_id=_ID,
            opened_by=_ID,
            opened_at_ms=1796472822741,
            updated_at_ms=1796472822741,
        ),
    ]
    return b"".join(msgspec.json.encode(sample) for sample in samples)


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
