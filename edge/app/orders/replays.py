"""Retries with a known id: the same request answers what it made, another one is refused.

Tablets mint the ids of orders, payments and refunds and send a request again when its answer was
lost: the id is their idempotency key. A retry finds the first request's entity and writes nothing
(200). The same id with a different request is a client's mistake (an id reused, a body changed
between tries); answering the stored entity would tell the tablet its new request was done, so it
is refused with 409 ``idempotency-key-reused``, as Stripe refuses a reused idempotency key.

"Different" is judged on the decoded request, so key order, spacing and the case of ids do not
count, and a manager's PIN is left out (it approves a request, it is not part of it):

- payments and refunds never change once made: the stored entity is the record of its request,
  and every field the retry gives must equal the entity's (a field it leaves out, such as the
  payment a refund was linked to, is the first request's choice);
- an order changes after it opens (lines, table, payments), so its ``created`` audit entry keeps
  a digest of the request that opened it (``request``); a retry must have the same digest. Orders
  opened before digests were kept replay as before.

Only a replay pays for the comparison; a first request only works out an order's digest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import apsw
import msgspec

from edge.app.orders.schemas import (
    OrderCreate,
    OrderDetail,
    PaymentCreate,
    PaymentResult,
    RefundCreate,
    RefundResult,
)
from edge.domain.errors import Conflict
from edge.store import rowdata
from edge.store.writer import WriteTx
from shared.schemas.documents import AuditEntry

if TYPE_CHECKING:  # service.py records the digest: it imports this module
    from edge.app.orders.service import Replayable

T = TypeVar("T")
# Fields of a request that name or approve it rather than say what it asks for.
_NOT_COMPARED = frozenset({"id", "manager_pin"})


class IdReused(Conflict):
    """A known id came with a request other than the one that made its entity."""

    code = "idempotency-key-reused"


def digest(request: msgspec.Struct) -> str:
    """A digest of what ``request`` asks for: equal for requests that decode alike."""
    canonical = msgspec.json.encode(_asked(request), order="sorted")
    return hashlib.blake2b(canonical, digest_size=16).hexdigest()


def guarded(
    command: Replayable[T], same: Callable[[WriteTx, T], bool], what: str, key: str | None
) -> Replayable[T]:
    """``command``, refusing a replay whose request is not ``same`` as the one that made the
    ``what`` with id ``key`` (only an id the tablet sent can replay)."""

    def run(tx: WriteTx) -> tuple[T, bool]:
        value = command(tx)
        if command.replayed and not same(tx, value):
            raise IdReused(
                f"{what} id {key} was already used for a different request: a new request"
                " needs a new id",
                id=key,
            )
        return value, command.replayed

    return type(command)(run)


def same_order(data: OrderCreate) -> Callable[[WriteTx, OrderDetail], bool]:
    """Whether a replayed order was opened by a request like ``data``."""

    def same(tx: WriteTx, order: OrderDetail) -> bool:
        stored = _opening_digest(tx.conn, order.id)
        return stored is None or stored == digest(data)

    return same


def same_payment(data: PaymentCreate) -> Callable[[WriteTx, PaymentResult], bool]:
    """Whether a replayed payment is what ``data`` asks for."""
    return lambda _tx, result: _matches(data, result.payment)


def same_refund(data: RefundCreate) -> Callable[[WriteTx, RefundResult], bool]:
    """Whether a replayed refund is what ``data`` asks for."""
    return lambda _tx, result: _matches(data, result.refund)


def _asked(request: msgspec.Struct) -> dict[str, Any]:
    asked = msgspec.to_builtins(request)
    return {k: v for k, v in asked.items() if k not in _NOT_COMPARED}


def _matches(request: msgspec.Struct, stored: msgspec.Struct) -> bool:
    """Every field the request gives equals the stored entity's field of that name."""
    for name, value in _asked(request).items():
        if value is not None and getattr(stored, name, value) != value:
            return False
    return True


def _opening_digest(conn: apsw.Connection, order_id: str) -> str | None:
    """The digest the order's ``created`` audit entry keeps (None: opened before they were)."""
    rows = conn.execute(
        "SELECT data FROM audit WHERE entity_id = ? AND action = 'order.created'", (order_id,)
    )
    for entry in rowdata.decode_rows(rows, AuditEntry):
        request = entry.detail.get("request")
        return request if isinstance(request, str) else None
    return None
