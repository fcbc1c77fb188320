"""Card numbers are refused in free text; ids, codes and other numbers are not."""

from __future__ import annotations

import random
import uuid

import pytest

from shared.cards import CardNumberFound, holds_card_number, luhn_valid, refuse_card_numbers
from shared.ids import uuid7

VISA = "4111111111111111"  # Stripe's and every network's published test number


def test_luhn() -> None:
    assert luhn_valid(VISA)
    assert luhn_valid("378282246310005")  # Amex test number, 15 digits
    assert not luhn_valid("4111111111111112")


@pytest.mark.parametrize(
    "text",
    [
        f"card {VISA} call back",
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "amex 3782 822463 10005.",
        f"({VISA})",
        f"Visa-{VISA}",
        f"{VISA}-x1",
        "".join(chr(0xFF10 + int(d)) for d in VISA),  # fullwidth digits
    ],
)
def test_printed_card_numbers_are_found(text: str) -> None:
    assert holds_card_number(text)


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111112",  # fails Luhn
        "41111111111111110000",  # 20 digits: some other number
        "table 12, 2 oat lattes",
        "0000000000000000000000000000",
        f"ab{VISA}",  # glued to a hex digit: part of an identifier (a digest, a tag)
        f"{VISA}f",
    ],
)
def test_other_numbers_are_not(text: str) -> None:
    assert not holds_card_number(text)


def test_uuids_are_never_cards() -> None:
    # Digit-only groups of a UUIDv7 used to join across dashes into a 16-digit Luhn-valid run
    # one time in ten; no id may ever be refused as a card.
    rng = random.Random(7)
    for _ in range(20_000):
        assert not holds_card_number(uuid7())
        assert not holds_card_number(str(uuid.UUID(int=rng.getrandbits(128))))
    assert not holds_card_number("01a246c7-afe3-70ee-8981-276774077194")


def test_refusal_names_the_field_and_skips_codes() -> None:
    order = {"id": uuid7(), "lines": [{"note": "no onions"}, {"note": f"pan {VISA}"}]}
    with pytest.raises(CardNumberFound) as found:
        refuse_card_numbers(order)
    assert found.value.path == "lines.1.note"
    # An EAN-13 barcode passes Luhn often; it is a code, not free text.
    refuse_card_numbers({"name": "Oat milk", "barcode": "4006381333931", "sku": VISA})
    # Only an entity's own codes: a "sku" deeper down, or a card as a key, is text like any.
    for hidden in ({"detail": {"sku": VISA}}, {"detail": {VISA: 1}}):
        with pytest.raises(CardNumberFound):
            refuse_card_numbers(hidden)
    # A PIN tag, a digest: hex tokens whose digit runs are not cards.
    refuse_card_numbers({"pin_tag": "ab" + VISA + "cd" * 20})
