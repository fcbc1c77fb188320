"""Request and response bodies of the employees API: secrets go in, never come out."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType

from edge.app.auth.routes import Pin
from shared.schemas.documents import Employee, Role
from shared.schemas.fields import Name, Uuid

Email = Annotated[
    str, msgspec.Meta(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=200, description="e-mail")
]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=200)]


class EmployeeIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new employee, working at this store; their PIN logs them in here (only). A password
    (back-office login) is for owners and managers only."""

    id: Uuid | None = None
    name: Name
    role: Role
    pin: Pin
    email: Email | None = None
    password: Password | None = None


class EmployeePatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The fields to change; those left out keep their value (``email: null`` clears it).

    ``pin`` sets the employee's PIN at this store: someone hired at another store logs in here
    once it is set (the PINs of other stores are not known here)."""

    name: Name | UnsetType = UNSET
    role: Role | UnsetType = UNSET
    pin: Pin | UnsetType = UNSET
    email: Email | UnsetType | None = UNSET
    password: Password | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class EmployeeView(msgspec.Struct, kw_only=True):
    """What the API shows of an employee: no PIN or password hashes, no PIN tag."""

    id: str
    name: str
    role: Role
    email: str | None
    active: bool
    has_password: bool
    has_pin: bool = False  # can log in by PIN at this store (a PIN belongs to a store)

    @classmethod
    def of(cls, employee: Employee, has_pin: bool) -> EmployeeView:
        """The public view of a stored employee."""
        return cls(
            id=employee.id,
            name=employee.name,
            role=employee.role,
            email=employee.email,
            active=employee.active,
            has_password=employee.password_hash is not None,
            has_pin=has_pin,
        )
