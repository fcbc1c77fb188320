"""Projection rows stay readable across releases: a dictionary's bytes never change."""

from __future__ import annotations

import hashlib

import msgspec

from edge.store import rowdata
from shared.schemas.documents import Order, OrderTotals

# Rows every store since 2026-12-05 holds were packed with exactly these bytes.
V1_SHA256 = "a7463d7625da018b8e199fa0805d802def3bd40109a13416d5b9e6eb5d2f6943"


def test_the_first_dictionary_is_frozen() -> None:
    assert hashlib.sha256(rowdata.dictionary(1)).hexdigest() == V1_SHA256


def test_entities_round_trip_through_packing() -> None:
    totals = OrderTotals(refunded_minor=280)
    order = Order(id="o1", number=7, business_day="2026-12-05", device_id="t", opened_by="e",
                  opened_at_ms=1, updated_at_ms=1, totals=totals)  # fmt: skip
    text = msgspec.json.encode(order).decode()
    packed = rowdata.pack(text)
    assert packed[0] == rowdata.VERSION and len(packed) < len(text)
    assert rowdata.decode(packed, Order) == order
