"""No card number enters the system: free text that holds one is refused, on both sides.

Readers and Stripe tokenize cards (DESIGN: Identity and access). A server who types a customer's
card number into an order note, or a tender reference copied off a terminal slip, would put it
into a replicated document that every replica and the relay keep for years. So any text in an
entity that holds a run of 13-19 digits (spaces or dashes between them allowed, as cards are
printed) passing the Luhn check is refused, wherever it is: a value, a key, a nested detail. A
run glued to a hex digit (a UUID's groups, a digest) is part of some identifier, not a card.

Codes that are digits by nature (an item's barcode or SKU: an EAN-13 passes Luhn one time in
ten) are not free text and are not checked. A run is taken whole: 20 or more digits in a row is
some other number, never a card.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

import msgspec

CODE_FIELDS = frozenset({"barcode", "sku"})  # digits by nature, never free text
# UUIDs are taken out first: their all-digit groups would join across the dashes. A run is then
# taken whole and must not be glued to a hex digit (a hex token: a PIN tag, a digest), but may
# follow a word and a dash ("Visa-4111...").
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_RUN = re.compile(r"(?<![0-9A-Fa-f])\d(?:[ -]?\d)*(?![0-9A-Fa-f])")
# In msgpack, text is stored verbatim and numbers in binary: 13 digits in a row in the bytes are
# (almost surely) in some text, worth a closer look; timestamps never make every entity walked.
# Fullwidth digits (UTF-8 EF BC 90-99) read as digits once normalised.
_CANDIDATE = re.compile(rb"\d(?:[ -]?\d){12}|\xef\xbc[\x90-\x99]")
_encoder = msgspec.msgpack.Encoder()


class CardNumberFound(ValueError):
    """Text that holds a card number; ``path`` says where (``note``, ``lines.0.note``...)."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"{path or 'the text'} holds what looks like a card number; card numbers are never"
            " stored: take cards through a reader, and write only the last 4 digits if needed"
        )
        self.path = path


def luhn_valid(digits: str) -> bool:
    total = 0
    for n, char in enumerate(reversed(digits)):
        d = int(char)
        if n % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def holds_card_number(text: str) -> bool:
    """Whether ``text`` holds a run of 13-19 digits that passes the Luhn check."""
    text = _UUID.sub(" ", unicodedata.normalize("NFKC", text))
    for run in _RUN.finditer(text):
        digits = run.group().replace(" ", "").replace("-", "")
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return True
    return False


def _paths(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, str):
        if holds_card_number(value):
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and holds_card_number(key):
                yield where
            if path or key not in CODE_FIELDS:  # an entity's own codes only, not any "sku"
                yield from _paths(item, where)
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _paths(item, f"{path}.{n}" if path else str(n))


def refuse_card_numbers(value: Any, path: str = "") -> None:
    """Raise CardNumberFound for the first text in ``value`` (a struct or JSON-like builtins)
    that holds a card number, outside code fields."""
    if not _CANDIDATE.search(_encoder.encode(value)):
        return  # the common case: no 13 digits anywhere, nothing to walk
    for found in _paths(msgspec.to_builtins(value), path):
        raise CardNumberFound(found)
