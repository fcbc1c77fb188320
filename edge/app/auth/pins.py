"""PIN verifiers at this store: its ``store/{store}/pins`` document.

A PIN has a few thousand values, so whoever holds its verifier (an Argon2 hash, or a tag and the
key it was made with) can work it out. Verifiers therefore live only in the documents of the
stores where the employee works, each store with a random key of its own: an appliance never
holds another store's verifiers or key, so it cannot compute the PINs of staff who do not work
there. (The relay holds every store's documents, as it holds everything it forwards.)

The rule as people see it: **a PIN belongs to a store.** An employee logs in by PIN at the stores
where an owner or manager set it (the same digits or not); one who starts at another store has it
set there too. Setting a PIN at one store never sends it to another: the clear PIN never leaves
the appliance it was typed on.

Login: the PIN's tag (HMAC with the store's key) finds the one employee it may belong to, and
Argon2 confirms. A verifier moved here from an older people document has no tag (its tag used the
org's pepper, which is gone): such verifiers are tried by Argon2 one by one, and tagged at their
first login, so the slow path fades away as staff log in.
"""

from __future__ import annotations

from typing import NamedTuple

import apsw
import msgspec

from edge.app.context import Edge
from edge.app.security import new_pin_key, pin_tag
from edge.store import rowdata
from edge.store.writer import WriteTx
from shared.credentials import hash_secret, verify_secret
from shared.schemas.documents import Employee, StorePin, pins_doc

KEY = "pin_key"  # the flat value holding the store's key


class Found(NamedTuple):
    """The employee a PIN belongs to at this store, and the verifier that said so."""

    employee: Employee
    verifier: StorePin


def pin_key(conn: apsw.Connection, store_id: str) -> str | None:
    """This store's PIN key, or None before it has one."""
    row = conn.execute(
        "SELECT value FROM doc_values WHERE doc_id = ? AND collection = 'pin_keys' AND key = ?",
        (pins_doc(store_id), KEY),
    ).fetchone()
    return None if row is None else str(msgspec.json.decode(row[0]))


def ensure_pin_key(tx: WriteTx, store_id: str) -> str:
    """The store's PIN key, minted (inside this command) when it has none."""
    key = pin_key(tx.conn, store_id)
    if key is None:
        key = new_pin_key()
        tx.set(pins_doc(store_id), "pin_keys", KEY, key)
    return key


def verifier(key: str, employee_id: str, pin: str) -> StorePin:
    """The verifier of a new PIN (Argon2: tens of milliseconds, keep it off the writer)."""
    return StorePin(id=employee_id, pin_hash=hash_secret(pin), pin_tag=pin_tag(key, pin))


def write_pin(tx: WriteTx, store_id: str, pin: StorePin) -> None:
    """Record an employee's PIN at this store (the caller audits)."""
    tx.put(pins_doc(store_id), "pins", pin)


def has_pin(conn: apsw.Connection, employee_id: str) -> bool:
    """Whether the employee can log in by PIN at this store."""
    row = conn.execute("SELECT 1 FROM store_pins WHERE id = ?", (employee_id,)).fetchone()
    return row is not None


def with_pins(conn: apsw.Connection) -> set[str]:
    """The employees who have a PIN at this store."""
    return {r[0] for r in conn.execute("SELECT id FROM store_pins")}


_ACTIVE = (
    "SELECT p.data, e.data FROM store_pins p JOIN employees e ON e.id = p.id WHERE e.active = 1"
)


def _found(row: tuple[str, str]) -> Found:
    return Found(rowdata.decode(row[1], Employee), rowdata.decode(row[0], StorePin))


def find_by_pin(edge: Edge, pin: str) -> Found | None:
    """The active employee whose PIN at this store this is (blocking: Argon2, run off the loop).

    Costs one Argon2 check whether or not the PIN is anyone's, plus one per untagged verifier.
    """
    conn = edge.store.read
    key = pin_key(conn, edge.store_id)
    tagged = None
    if key is not None:
        tagged = conn.execute(f"{_ACTIVE} AND p.pin_tag = ?", (pin_tag(key, pin),)).fetchone()
    if tagged is not None:
        found = _found(tagged)
        return found if verify_secret(found.verifier.pin_hash, pin) else None
    untagged = conn.execute(f"{_ACTIVE} AND p.pin_tag IS NULL").fetchall()
    if not untagged:
        verify_secret(None, pin)  # as slow as a real check: the timing tells nothing
        return None
    for row in untagged:
        found = _found(row)
        if verify_secret(found.verifier.pin_hash, pin):
            return found
    return None


def holder(edge: Edge, pin: str) -> str | None:
    """The id of the active employee holding ``pin`` at this store, if any (blocking: Argon2 on
    untagged verifiers only)."""
    conn = edge.store.read
    key = pin_key(conn, edge.store_id)
    if key is not None:
        row = conn.execute(f"{_ACTIVE} AND p.pin_tag = ?", (pin_tag(key, pin),)).fetchone()
        if row is not None:
            return _found(row).employee.id
    for row in conn.execute(f"{_ACTIVE} AND p.pin_tag IS NULL").fetchall():
        found = _found(row)
        if verify_secret(found.verifier.pin_hash, pin):
            return found.employee.id
    return None


def tag_untagged(tx: WriteTx, store_id: str, found: Found, pin: str) -> bool:
    """After a login with an untagged verifier, tag it with the store's key; False when it was
    tagged already (or replaced since)."""
    current = tx.conn.execute(
        "SELECT data FROM store_pins WHERE id = ?", (found.verifier.id,)
    ).fetchone()
    if current is None or rowdata.decode(current[0], StorePin) != found.verifier:
        return False
    if found.verifier.pin_tag is not None:
        return False
    key = ensure_pin_key(tx, store_id)
    write_pin(tx, store_id, msgspec.structs.replace(found.verifier, pin_tag=pin_tag(key, pin)))
    return True
