"""The compact encoding of day-document entities: exact round trips, small, and a pinned layout."""

from __future__ import annotations

import msgspec
import pytest

from shared.ids import uuid7
from shared.schemas import compact
from shared.schemas import documents as d

# The encoding is positional: these orders are the format. Fields are only ever appended.
LAYOUT = {
    d.Order: (
        "id number business_day state lines discounts service_charge_percent tax_mode rounding"
        " currency totals table note device_id opened_by opened_at_ms updated_at_ms closed_at_ms"
        " void_reason"
    ),
    d.OrderLine: (
        "id item_id name variant_id unit_price_minor modifiers quantity taxes note sent voided"
    ),
    d.LineModifier: "option_id group_id name price_delta_minor",
    d.LineTax: "rate_id name rate",
    d.AppliedDiscount: (
        "id discount_id name kind percent amount_minor line_id approved_by automatic"
    ),
    d.OrderTotals: (
        "subtotal_minor discount_minor service_minor tax_minor total_minor paid_minor tip_minor"
        " balance_minor"
    ),
    d.Payment: (
        "id order_id tender amount_minor tip_minor tendered_minor change_minor drawer_session_id"
        " reference taken_by device_id taken_at_ms"
    ),
    d.Refund: (
        "id order_id payment_id tender amount_minor reason drawer_session_id approved_by taken_by"
        " device_id taken_at_ms"
    ),
    d.DrawerSession: (
        "id drawer_id state opened_by opened_at_ms float_minor float_counts closed_by"
        " closed_at_ms counted_minor counted_counts expected_minor over_short_minor"
    ),
    d.DrawerEntry: "id session_id kind amount_minor reason reference by approved_by at_ms",
    d.AuditEntry: "id at_ms actor_id device_id action entity_type entity_id approved_by detail",
}


@pytest.mark.parametrize("struct", list(LAYOUT), ids=lambda s: s.__name__)
def test_the_field_order_of_each_entity_is_pinned(struct: type[msgspec.Struct]) -> None:
    # A new field goes at the end (with a default): reordering would misread every stored entry.
    assert struct.__struct_fields__[: len(LAYOUT[struct].split())] == tuple(LAYOUT[struct].split())


def _order() -> d.Order:
    line = d.OrderLine(
        id=uuid7(),
        item_id=uuid7(),
        name="Latte",
        unit_price_minor=420,
        quantity=2,
        modifiers=[
            d.LineModifier(option_id=uuid7(), group_id=uuid7(), name="Oat", price_delta_minor=40)
        ],
        taxes=[d.LineTax(rate_id=uuid7(), name="VAT 20%", rate="0.20")],
        note="extra hot",
    )
    return d.Order(
        id=uuid7(),
        number=42,
        business_day="2026-12-05",
        state="paid",
        lines=[line],
        tax_mode="inclusive",
        currency="GBP",
        totals=d.OrderTotals(total_minor=840, paid_minor=840),
        device_id="till-1",  # not a UUID: stays text
        opened_by=uuid7(),
        opened_at_ms=1_796_400_000_000,
        updated_at_ms=1_796_400_000_123,
    )


def test_an_order_comes_back_exactly_and_its_id_is_its_key() -> None:
    order = _order()
    packed = compact.encode(order)
    assert compact.decode(packed, d.Order, order.id) == order
    assert compact.decode(bytearray(packed), d.Order, order.id) == order  # as pycrdt hands it
    assert order.id.encode() not in packed  # the key is not written again
    assert len(packed) < len(msgspec.json.encode(order)) / 2


def test_ids_in_plain_values_are_bytes_and_other_text_stays_text() -> None:
    upper = "01A2461F-DBD5-733A-A625-9B1917F48D53"  # not canonical: must read back the same
    entry = d.AuditEntry(
        id=uuid7(),
        at_ms=1,
        actor_id="e1",
        device_id=None,
        action="order.created",
        entity_type="order",
        entity_id=uuid7(),
        detail={"then": [{"payment_id": uuid7(), "tender": "cash"}], "code": upper, "n": 3},
    )
    packed = compact.encode(entry)
    assert compact.decode(packed, d.AuditEntry, entry.id) == entry
    payment_id = entry.detail["then"][0]["payment_id"]
    assert (
        payment_id.encode() not in packed and bytes.fromhex(payment_id.replace("-", "")) in packed
    )


def test_defaults_at_the_end_cost_nothing_and_older_json_still_reads() -> None:
    entry = d.DrawerEntry(id=uuid7(), session_id=uuid7(), kind="no_sale", by="e1", at_ms=5)
    assert compact.decode(compact.encode(entry), d.DrawerEntry, entry.id) == entry
    text = msgspec.json.encode(entry).decode()
    assert compact.decode(text, d.DrawerEntry, entry.id) == entry


def test_a_longer_array_from_a_newer_version_is_read_without_its_extra_fields() -> None:
    entry = d.DrawerEntry(id=uuid7(), session_id=uuid7(), kind="sale", by="e1", at_ms=5)
    values = msgspec.msgpack.decode(compact.encode(entry))
    values += [None] * (9 - len(values)) + ["a field this version does not know"]
    newer = msgspec.msgpack.encode(values)
    assert compact.decode(newer, d.DrawerEntry, entry.id) == entry


@pytest.mark.parametrize("junk", [b"\x01", msgspec.msgpack.encode({"a": 1}), b"\x93\x01"])
def test_junk_is_refused_with_a_msgspec_error(junk: bytes) -> None:
    with pytest.raises((msgspec.DecodeError, msgspec.ValidationError)):
        compact.decode(junk, d.DrawerEntry, uuid7())
