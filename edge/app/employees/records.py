"""Building employee records: secrets are hashed here, before anything reaches a document.

An employee's record (org/{org}/people) holds no PIN: its verifier goes to the document of the
store where it was set (edge.app.auth.pins). A password hash stays in the record: passwords are
long, and owners and managers log in to the back office with them at every store.
"""

from __future__ import annotations

from edge.app.auth.pins import verifier
from shared.credentials import hash_secret
from shared.schemas.documents import Employee, Role, StorePin


def password_fields(password: str | None) -> dict[str, str]:
    """The hashed field of a new password (none when not given)."""
    return {} if password is None else {"password_hash": hash_secret(password)}


def new_employee(
    employee_id: str,
    pin_key: str,
    *,
    name: str,
    role: Role,
    pin: str | None,
    email: str | None = None,
    password: str | None = None,
) -> tuple[Employee, StorePin | None]:
    """A new employee with a hashed password, and their PIN's verifier at this store."""
    employee = Employee(
        id=employee_id,
        name=name,
        role=role,
        email=email.strip().lower() if email else None,
        **password_fields(password),
    )
    return employee, (None if pin is None else verifier(pin_key, employee_id, pin))
