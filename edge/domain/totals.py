"""The receipt: what each line comes to, and the identity that ties the order's totals together.

    subtotal = sum of line gross      gross = unit price x quantity; voided lines count for nothing
    discount = sum of line discount   a line's own discounts plus its share of order discounts
    net      = gross - discount       per line, never negative
    tax      = sum of line tax = sum of the per-rate buckets
    exclusive (sales tax): total = subtotal - discount + service + tax
    inclusive (VAT):       total = subtotal - discount + service   (tax is inside net, reported)
    balance  = total - paid - refunded   the tip is reported beside the total, never in it

``paid`` is net of refunds and ``refunded`` is what went back: money refunded is given back on
purpose, not owed again, so a refunded order (fully or partly) has a balance of 0, like the paid
order it was. Tips are neither: they are never refunded (edge.domain.tenders).

Order of work and where each rounding happens (all with the order's rounding mode):

1. Line discounts, in list order, each on what is left of its line: a percent is rounded per line,
   an amount is capped at what is left. Two 50 % discounts therefore take 75 %, never more than 100.
2. Order discounts, in list order, each on what is left of the whole order: a percent is rounded
   once on the order, an amount capped; then it is spread over lines in proportion to what each has
   left with ``allocate``, so the shares sum exactly and no line goes below zero.
3. Tax per line and per rate on the line's net, rounded per line and rate. Exclusive:
   ``net x rate``. Inclusive: every rate's part is taken from the same pre-tax base
   ``net / (1 + sum of the line's rates)``, i.e. ``net x rate / (1 + sum)``; with one rate this is
   ``net - net / (1 + rate)``. Each part is rounded on its own, so the buckets add up exactly.
4. Service charge: a percent of the sum of line nets (exclusive: before tax; inclusive: of the
   tax-inclusive nets), rounded once, not taxed.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

import msgspec

from edge.domain.discounts import check_discount
from edge.domain.errors import InvalidInput
from edge.domain.money import (
    allocate,
    apply_fraction,
    apply_ratio,
    check_minor,
    check_rounding,
    parse_percent,
    parse_rate,
    sum_rates,
)
from shared.schemas.documents import AppliedDiscount, OrderLine, OrderTotals, Rounding, TaxMode

_HUNDRED = Decimal(100)
_ONE = Decimal(1)


class LineAmounts(msgspec.Struct, frozen=True, kw_only=True):
    """What one counted (not voided) line comes to."""

    line_id: str
    gross_minor: int  # unit price x quantity
    discount_minor: int  # own discounts plus its share of order discounts
    net_minor: int  # gross - discount
    tax_minor: int  # exclusive: added on top of net; inclusive: contained in net


class Receipt(msgspec.Struct, frozen=True, kw_only=True):
    """An order's totals with the per-line and per-tax-rate amounts they are made of."""

    totals: OrderTotals
    lines: list[LineAmounts]  # counted lines only, in order
    taxes: dict[str, int]  # tax rate id -> tax for the whole order


def compute_totals(
    lines: list[OrderLine],
    discounts: list[AppliedDiscount],
    *,
    service_charge_percent: str | None,
    tax_mode: TaxMode,
    rounding: Rounding,
    paid_minor: int = 0,
    tip_minor: int = 0,
    refunded_minor: int = 0,
) -> Receipt:
    """Compute the receipt of an order; see the module docstring for the rules and the identity."""
    _check_tax_mode(tax_mode)
    check_rounding(rounding)
    check_minor(paid_minor, "paid_minor")
    check_minor(tip_minor, "tip_minor")
    check_minor(refunded_minor, "refunded_minor")
    _check_discounts(lines, discounts)
    counted = [line for line in lines if not line.voided]
    gross = [_gross_minor(line) for line in counted]
    own_off = _line_discounts(counted, gross, discounts, rounding)
    left = [line_gross - off for line_gross, off in zip(gross, own_off, strict=True)]
    shared_off = _order_discounts(left, discounts, rounding)
    off = [own + shared for own, shared in zip(own_off, shared_off, strict=True)]
    priced = [
        _line_amounts(line, line_gross, line_off, tax_mode, rounding)
        for line, line_gross, line_off in zip(counted, gross, off, strict=True)
    ]
    buckets: dict[str, int] = {}
    for _, line_taxes in priced:
        for rate_id, tax_minor in line_taxes:
            buckets[rate_id] = buckets.get(rate_id, 0) + tax_minor
    line_amounts = [line_amount for line_amount, _ in priced]
    net_minor = sum(line_amount.net_minor for line_amount in line_amounts)
    service_minor = _service_minor(net_minor, service_charge_percent, rounding)
    totals = _order_totals(
        line_amounts,
        service_minor,
        tax_mode,
        paid_minor=paid_minor,
        tip_minor=tip_minor,
        refunded_minor=refunded_minor,
    )
    return Receipt(totals=totals, lines=line_amounts, taxes=buckets)


def receipt_balances(receipt: Receipt, tax_mode: TaxMode) -> bool:
    """Whether the receipt satisfies the identity in the module docstring."""
    totals = receipt.totals
    lines = receipt.lines
    if any(line.net_minor != line.gross_minor - line.discount_minor for line in lines):
        return False
    line_tax_minor = sum(line.tax_minor for line in lines)
    if (
        totals.subtotal_minor != sum(line.gross_minor for line in lines)
        or totals.discount_minor != sum(line.discount_minor for line in lines)
        or totals.tax_minor != line_tax_minor
        or totals.tax_minor != sum(receipt.taxes.values())
    ):
        return False
    added_tax_minor = totals.tax_minor if tax_mode == "exclusive" else 0
    expected_total = (
        totals.subtotal_minor - totals.discount_minor + totals.service_minor + added_tax_minor
    )
    return (
        totals.total_minor == expected_total
        and totals.balance_minor == totals.total_minor - totals.paid_minor - totals.refunded_minor
    )


def _check_tax_mode(tax_mode: TaxMode) -> None:
    if tax_mode not in ("exclusive", "inclusive"):
        raise InvalidInput(f"unknown tax mode {tax_mode!r}", tax_mode=repr(tax_mode))


def _check_discounts(lines: list[OrderLine], discounts: list[AppliedDiscount]) -> None:
    line_ids = {line.id for line in lines}
    for applied in discounts:
        check_discount(applied.kind, applied.percent, applied.amount_minor)
        # On a voided line a discount counts for nothing; on no line at all it is a bug upstream.
        if applied.line_id is not None and applied.line_id not in line_ids:
            raise InvalidInput(
                f"discount {applied.name!r} names an unknown line", line_id=applied.line_id
            )


def _gross_minor(line: OrderLine) -> int:
    check_minor(line.unit_price_minor, "unit_price_minor")
    check_minor(line.quantity, "quantity")
    if line.quantity == 0:
        raise InvalidInput("a line quantity must be at least 1", line_id=line.id)
    return check_minor(line.unit_price_minor * line.quantity, "line amount")


def _discount_off(applied: AppliedDiscount, base_minor: int, rounding: Rounding) -> int:
    """What ``applied`` takes off ``base_minor``: never more than the base."""
    value = check_discount(applied.kind, applied.percent, applied.amount_minor)
    if isinstance(value, Decimal):
        return min(apply_ratio(base_minor, value, _HUNDRED, rounding), base_minor)
    return min(value, base_minor)


def _line_discounts(
    counted: list[OrderLine], gross: list[int], discounts: list[AppliedDiscount], rounding: Rounding
) -> list[int]:
    index = {line.id: position for position, line in enumerate(counted)}
    off = [0] * len(counted)
    for applied in discounts:
        position = index.get(applied.line_id) if applied.line_id is not None else None
        if position is None:
            continue  # order-level, or on a voided line
        off[position] += _discount_off(applied, gross[position] - off[position], rounding)
    return off


def _order_discounts(
    left: list[int], discounts: list[AppliedDiscount], rounding: Rounding
) -> list[int]:
    off = [0] * len(left)
    for applied in discounts:
        if applied.line_id is not None:
            continue
        weights = [line_left - line_off for line_left, line_off in zip(left, off, strict=True)]
        amount_minor = _discount_off(applied, sum(weights), rounding)
        # Each share is at most ceil(amount x weight / sum) <= weight, so no line goes negative.
        for position, share in enumerate(allocate(amount_minor, weights)):
            off[position] += share
    return off


def _line_amounts(
    line: OrderLine, gross_minor: int, discount_minor: int, tax_mode: TaxMode, rounding: Rounding
) -> tuple[LineAmounts, list[tuple[str, int]]]:
    """One line's amounts, with its tax split by rate for the order's buckets."""
    net_minor = gross_minor - discount_minor
    taxes = _line_taxes(line, net_minor, tax_mode, rounding)
    amounts = LineAmounts(
        line_id=line.id,
        gross_minor=gross_minor,
        discount_minor=discount_minor,
        net_minor=net_minor,
        tax_minor=sum(tax_minor for _, tax_minor in taxes),
    )
    return amounts, taxes


def _line_taxes(
    line: OrderLine, net_minor: int, tax_mode: TaxMode, rounding: Rounding
) -> list[tuple[str, int]]:
    fractions = tax_fractions(tuple(tax.rate for tax in line.taxes), tax_mode)
    return [
        (tax.rate_id, apply_fraction(net_minor, numerator, denominator, rounding))
        for tax, (numerator, denominator) in zip(line.taxes, fractions, strict=True)
    ]


@lru_cache(maxsize=1024)
def tax_fractions(rates: tuple[str, ...], tax_mode: TaxMode) -> tuple[tuple[int, int], ...]:
    """The exact fraction of a line's net each rate takes, as (numerator, denominator).

    Exclusive: the rate itself. Inclusive: rate / (1 + every rate of the line), so the line's
    price already holds its taxes. Worked out once per set of rates: a café has a handful.
    """
    parsed = [parse_rate(rate) for rate in rates]
    if tax_mode == "exclusive":
        return tuple(rate.as_integer_ratio() for rate in parsed)
    up_n, up_d = sum_rates([_ONE, *parsed]).as_integer_ratio()
    fractions = []
    for rate in parsed:
        rate_n, rate_d = rate.as_integer_ratio()
        fractions.append((rate_n * up_d, rate_d * up_n))
    return tuple(fractions)


def _service_minor(base_minor: int, service_charge_percent: str | None, rounding: Rounding) -> int:
    if service_charge_percent is None:
        return 0
    return apply_ratio(base_minor, parse_percent(service_charge_percent), _HUNDRED, rounding)


def _order_totals(
    amounts: list[LineAmounts],
    service_minor: int,
    tax_mode: TaxMode,
    *,
    paid_minor: int,
    tip_minor: int,
    refunded_minor: int,
) -> OrderTotals:
    subtotal_minor = sum(line.gross_minor for line in amounts)
    discount_minor = sum(line.discount_minor for line in amounts)
    tax_minor = sum(line.tax_minor for line in amounts)
    added_tax_minor = tax_minor if tax_mode == "exclusive" else 0
    total_minor = subtotal_minor - discount_minor + service_minor + added_tax_minor
    check_minor(subtotal_minor, "subtotal_minor")
    check_minor(total_minor, "total_minor")
    return OrderTotals(
        subtotal_minor=subtotal_minor,
        discount_minor=discount_minor,
        service_minor=service_minor,
        tax_minor=tax_minor,
        total_minor=total_minor,
        paid_minor=paid_minor,
        tip_minor=tip_minor,
        balance_minor=total_minor - paid_minor - refunded_minor,
        refunded_minor=refunded_minor,
    )
