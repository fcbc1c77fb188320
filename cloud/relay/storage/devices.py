"""Appliances and their enrollment, written once for both backends: one active appliance a store.

A store's hub is one appliance: two live writers would number orders from the same sequence.
Redeeming a code is one transaction (``redeem``): the code is claimed, the store's row locked
(PostgreSQL: ``FOR UPDATE``, so two codes of one store redeemed at once queue up; SQLite's single
writer already serialises them), and then either

- the store has an unrevoked device and the code is a plain one: refused with ``ApplianceActive``,
  the transaction rolled back, so the code stays unused for when the owner retires that device;
- or the code is a replacement: every unrevoked device of the store is revoked, and the new one
  created, in the same transaction, so no moment exists with two appliances allowed to sync.

The steps are plain data (``Step``: SQL with ``:name`` parameters); each backend runs them on its
own driver (``sqlite.run_plan``, ``postgres.run_plan``), so the SQL and the rule exist once.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from functools import cache
from typing import Any, NamedTuple, TypeVar

from cloud.relay.storage.base import ApplianceActive, Device

T = TypeVar("T")
Rows = list[tuple[Any, ...]]


class Step(NamedTuple):
    """One statement of a plan; ``lock``: hold the rows it reads until the transaction ends."""

    sql: str
    params: dict[str, Any]
    lock: bool = False


Plan = Generator[Step, Rows, T]

# Forward-only migration 3, the same text on both backends. No unique index on a store's active
# device: relays upgraded from v2 may hold two per store, and which one to cut off is the owner's
# call (``fynlo-relay device list`` / ``revoke``), not a migration's.
MIGRATION = """
ALTER TABLE enrollment_codes ADD COLUMN replaces integer NOT NULL DEFAULT 0;
CREATE INDEX devices_store ON devices (store_id, revoked_at_ms);
CREATE INDEX devices_org ON devices (org_id);
"""

COLUMNS = ", ".join(Device.__struct_fields__)
_INSERT = (
    f"INSERT INTO devices ({COLUMNS}, token_hash)"
    f" VALUES ({', '.join(':' + f for f in Device.__struct_fields__)}, :token_hash)"
)


@cache
def postgres_sql(sql: str) -> str:
    """``:name`` parameters as psycopg writes them (``%(name)s``)."""
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql)


def redeem(
    code_hash: str, now_ms: int, device_id: str, name: str, token_hash: str
) -> Plan[Device | None]:
    """Claim the code and enroll its device; None for an unknown, used or expired code."""
    claimed = yield Step(
        "UPDATE enrollment_codes SET used_at_ms = :now WHERE code_hash = :code"
        " AND used_at_ms IS NULL AND expires_at_ms > :now RETURNING store_id, replaces",
        {"now": now_ms, "code": code_hash},
    )
    if not claimed:
        return None
    store_id, replaces = claimed[0]
    (org_id,), *_ = yield Step(
        "SELECT org_id FROM stores WHERE id = :store", {"store": store_id}, lock=True
    )
    active = {"store": store_id}
    ((count,),) = yield Step(
        "SELECT count(*) FROM devices WHERE store_id = :store AND revoked_at_ms IS NULL", active
    )
    if count and not replaces:
        raise ApplianceActive(f"store {store_id!r} has an active appliance")
    if count:
        yield Step(
            "UPDATE devices SET revoked_at_ms = :now"
            " WHERE store_id = :store AND revoked_at_ms IS NULL",
            {**active, "now": now_ms},
        )
    device = Device(
        id=device_id, org_id=org_id, store_id=store_id, name=name, enrolled_at_ms=now_ms
    )
    yield Step(_INSERT, {**_fields(device), "token_hash": token_hash})
    return device


def devices_of(org_id: str, store_id: str | None) -> Plan[list[Device]]:
    """The devices of an org (or of one of its stores), revoked ones too, oldest first."""
    where, params = "org_id = :org", {"org": org_id}
    if store_id is not None:
        where, params = f"{where} AND store_id = :store", {**params, "store": store_id}
    rows = yield Step(
        f"SELECT {COLUMNS} FROM devices WHERE {where} ORDER BY enrolled_at_ms, id", params
    )
    return [_device(row) for row in rows]


def device(device_id: str) -> Plan[Device | None]:
    rows = yield Step(f"SELECT {COLUMNS} FROM devices WHERE id = :id", {"id": device_id})
    return _device(rows[0]) if rows else None


def _fields(device: Device) -> dict[str, Any]:
    return {f: getattr(device, f) for f in Device.__struct_fields__}


def _device(row: tuple[Any, ...]) -> Device:
    return Device(**dict(zip(Device.__struct_fields__, row, strict=True)))
