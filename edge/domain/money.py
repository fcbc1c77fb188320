"""Money arithmetic: integer minor units, Decimal rates, and every rounding named.

All rounding goes through one exact step (``_round_ratio``) on integers: a Decimal is turned into
its exact integer ratio first, so results never depend on the thread's decimal context or its
precision, and nothing is rounded twice.
"""

from __future__ import annotations

from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow
from functools import lru_cache

from edge.domain.errors import InvalidInput
from shared.schemas.documents import Rounding
from shared.schemas.fields import MAX_MINOR

__all__ = [
    "MAX_MINOR",
    "MAX_PERCENT_PLACES",
    "MAX_RATE_PLACES",
    "Rounding",
    "allocate",
    "apply_fraction",
    "apply_rate",
    "apply_ratio",
    "check_minor",
    "check_rounding",
    "parse_percent",
    "parse_rate",
    "round_minor",
    "split_evenly",
    "sum_rates",
]


# Decimal places accepted in catalog strings; bounds the size of every exact ratio we build and
# refuses texts like "1e-999999999" that would make huge integers.
MAX_RATE_PLACES = 12
MAX_PERCENT_PLACES = 10
_MAX_TEXT_LEN = 40

_HUNDRED = Decimal(100)
_MODES: frozenset[str] = frozenset({"half_up", "half_even", "down"})
# Adds rates without touching the thread's decimal context; Inexact is trapped, so a sum is either
# exact or refused, never quietly rounded.
_EXACT = Context(prec=60, traps=[Inexact, InvalidOperation, Overflow])


def check_minor(value: int, name: str, *, allow_negative: bool = False) -> int:
    """Return ``value`` if it is an int amount within +/-MAX_MINOR, else raise InvalidInput."""
    # bool is an int subclass; True as an amount is always a bug upstream.
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(f"{name} must be an integer amount", field=name, value=repr(value))
    if value < 0 and not allow_negative:
        raise InvalidInput(f"{name} must not be negative", field=name, value=value)
    if abs(value) > MAX_MINOR:
        raise InvalidInput(f"{name} is out of range", field=name, value=value)
    return value


def _check_int(value: int, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(f"{name} must be an integer", field=name, value=repr(value))


def _check_decimal(value: Decimal, name: str) -> None:
    # A float would be accepted by as_integer_ratio and silently carry binary error.
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidInput(f"{name} must be a finite Decimal", field=name, value=repr(value))


def check_rounding(mode: Rounding) -> Rounding:
    """Return ``mode`` if it names a rounding we know, else raise InvalidInput."""
    if mode not in _MODES:
        raise InvalidInput(f"unknown rounding mode {mode!r}", rounding=repr(mode))
    return mode


def _round_ratio(numerator: int, denominator: int, mode: Rounding) -> int:
    """Round numerator/denominator to an int, exactly, with the named mode."""
    check_rounding(mode)
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    floor, remainder = divmod(numerator, denominator)  # floor division, remainder >= 0
    if remainder == 0:
        return floor
    if mode == "down":  # toward zero, as decimal.ROUND_DOWN
        return floor + 1 if numerator < 0 else floor
    twice = 2 * remainder
    if twice != denominator:
        return floor + 1 if twice > denominator else floor
    if mode == "half_up":  # ties away from zero, as decimal.ROUND_HALF_UP
        return floor if numerator < 0 else floor + 1
    return floor if floor % 2 == 0 else floor + 1  # half_even: ties to the even neighbour


def round_minor(value: Decimal, mode: Rounding) -> int:
    """Round a Decimal amount of minor units to an int with the named mode."""
    _check_decimal(value, "value")
    numerator, denominator = value.as_integer_ratio()
    return _round_ratio(numerator, denominator, mode)


def apply_rate(amount_minor: int, rate: Decimal, mode: Rounding) -> int:
    """Return ``amount_minor * rate`` rounded with the named mode."""
    _check_int(amount_minor, "amount_minor")
    _check_decimal(rate, "rate")
    numerator, denominator = rate.as_integer_ratio()
    return _round_ratio(amount_minor * numerator, denominator, mode)


def apply_fraction(amount_minor: int, numerator: int, denominator: int, mode: Rounding) -> int:
    """Return ``amount_minor * numerator / denominator`` (exact integers) rounded once."""
    _check_int(amount_minor, "amount_minor")
    if denominator == 0:
        raise InvalidInput("denominator must not be zero")
    return _round_ratio(amount_minor * numerator, denominator, mode)


def apply_ratio(amount_minor: int, numerator: Decimal, denominator: Decimal, mode: Rounding) -> int:
    """Return ``amount_minor * numerator / denominator`` rounded once with the named mode."""
    _check_int(amount_minor, "amount_minor")
    _check_decimal(numerator, "numerator")
    _check_decimal(denominator, "denominator")
    if denominator == 0:
        raise InvalidInput("denominator must not be zero")
    num_n, num_d = numerator.as_integer_ratio()
    den_n, den_d = denominator.as_integer_ratio()
    return _round_ratio(amount_minor * num_n * den_d, num_d * den_n, mode)


def sum_rates(rates: list[Decimal]) -> Decimal:
    """Add Decimal rates exactly, independent of the thread's decimal context."""
    total = Decimal(0)
    for rate in rates:
        _check_decimal(rate, "rate")
        total = _EXACT.add(total, rate)
    return total


def _parse_decimal(text: str, name: str, max_places: int) -> Decimal:
    """Parse a plain decimal string, refusing floats, NaN, infinities and excess places."""
    if not isinstance(text, str) or len(text) > _MAX_TEXT_LEN:
        raise InvalidInput(f"{name} must be a short decimal string", field=name, value=repr(text))
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(f"{name} is not a decimal number", field=name, value=text) from None
    if not value.is_finite():
        raise InvalidInput(f"{name} must be finite", field=name, value=text)
    if value.is_zero():
        return Decimal(0)  # folds "-0" and "0E-7" into one plain zero
    as_tuple = value.as_tuple()
    exponent = int(as_tuple.exponent)  # an int for every finite value
    # Trailing zeros ("0.2000") are not real places; count the significant ones only.
    digits = "".join(map(str, as_tuple.digits))
    trailing = len(digits) - len(digits.rstrip("0"))
    if exponent + trailing < -max_places:
        raise InvalidInput(
            f"{name} has more than {max_places} decimal places", field=name, value=text
        )
    return value


@lru_cache(maxsize=1024)
def parse_rate(text: str) -> Decimal:
    """Parse a tax rate fraction such as ``"0.20"``; it must lie in [0, 1]."""
    value = _parse_decimal(text, "rate", MAX_RATE_PLACES)
    if not 0 <= value <= 1:
        raise InvalidInput("rate must be between 0 and 1", field="rate", value=text)
    return value


@lru_cache(maxsize=1024)
def parse_percent(text: str) -> Decimal:
    """Parse a percentage such as ``"12.5"``; it must lie in [0, 100]."""
    value = _parse_decimal(text, "percent", MAX_PERCENT_PLACES)
    if not 0 <= value <= _HUNDRED:
        raise InvalidInput("percent must be between 0 and 100", field="percent", value=text)
    return value


def allocate(total_minor: int, weights: list[int]) -> list[int]:
    """Split ``total_minor`` in proportion to ``weights`` so the parts sum exactly to it.

    Largest remainder: every part is the floor of its exact share, and the minor units left over go
    one each to the largest remainders, ties to the lower index. All-zero weights split evenly. A
    negative total is split as its absolute value and negated, so the result is sign symmetric.
    """
    _check_int(total_minor, "total_minor")
    for weight in weights:
        _check_int(weight, "weight")
        if weight < 0:
            raise InvalidInput("allocation weights must not be negative", weight=weight)
    if not weights:
        if total_minor != 0:
            raise InvalidInput("cannot allocate an amount over no parts", total_minor=total_minor)
        return []
    if not any(weights):
        weights = [1] * len(weights)
    magnitude = abs(total_minor)
    weight_sum = sum(weights)
    shares = [divmod(magnitude * weight, weight_sum) for weight in weights]
    parts = [floor for floor, _ in shares]
    left_over = magnitude - sum(parts)  # fewer than the number of non-zero remainders
    by_remainder = sorted(range(len(shares)), key=lambda index: (-shares[index][1], index))
    for index in by_remainder[:left_over]:
        parts[index] += 1
    return [-part for part in parts] if total_minor < 0 else parts


def split_evenly(total_minor: int, parts: int) -> list[int]:
    """Split ``total_minor`` into ``parts`` near-equal amounts; the first parts take any extra."""
    _check_int(parts, "parts")
    if parts < 1:
        raise InvalidInput("parts must be at least 1", parts=parts)
    return allocate(total_minor, [1] * parts)
