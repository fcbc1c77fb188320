"""Building employee records: secrets are hashed here, before anything reaches a document."""

from __future__ import annotations

import apsw
import msgspec

from edge.app.security import pin_tag
from shared.credentials import hash_secret
from shared.schemas.documents import Employee, Role, people_doc


def pin_pepper(conn: apsw.Connection, org_id: str) -> str:
    """The org's key for PIN tags, kept in the people document so every store can log staff in."""
    pepper = find_pin_pepper(conn, org_id)
    if pepper is None:
        raise RuntimeError("the people document has no PIN pepper: run `fynlo-edge init`")
    return pepper


def find_pin_pepper(conn: apsw.Connection, org_id: str) -> str | None:
    """The org's PIN pepper, or None before the people document has one."""
    row = conn.execute(
        "SELECT value FROM doc_values WHERE doc_id = ? AND collection = 'meta' AND key ="
        " 'pin_pepper'",
        (people_doc(org_id),),
    ).fetchone()
    return None if row is None else str(msgspec.json.decode(row[0]))


def secret_fields(pepper: str, pin: str | None, password: str | None) -> dict[str, str]:
    """The hashed fields for a new PIN and/or password (only those given)."""
    fields: dict[str, str] = {}
    if pin is not None:
        fields["pin_hash"] = hash_secret(pin)
        fields["pin_tag"] = pin_tag(pepper, pin)
    if password is not None:
        fields["password_hash"] = hash_secret(password)
    return fields


def new_employee(
    employee_id: str,
    pepper: str,
    *,
    name: str,
    role: Role,
    pin: str | None,
    email: str | None = None,
    password: str | None = None,
) -> Employee:
    """A new employee with hashed secrets."""
    return Employee(
        id=employee_id,
        name=name,
        role=role,
        email=email.strip().lower() if email else None,
        **secret_fields(pepper, pin, password),
    )
