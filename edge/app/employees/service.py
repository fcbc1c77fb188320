"""Employee commands: hire, edit, deactivate; PINs unique per org, owners guarded.

Secrets are hashed (Argon2, tens of milliseconds each) before a command is built, off the writer
thread, so staff edits never hold up a sale waiting for its commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import apsw
import msgspec

from edge.app.audit import audit
from edge.app.auth.principal import Actor
from edge.app.context import Edge
from edge.app.employees.records import pin_pepper, secret_fields
from edge.app.employees.schemas import EmployeeIn, EmployeePatch, EmployeeView
from edge.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from edge.domain.permissions import EMPLOYEE_WRITE
from edge.store import rowdata
from edge.store.writer import WriteTx
from shared.ids import uuid7
from shared.schemas.documents import Employee, Role, people_doc

Command = Callable[[WriteTx], EmployeeView]
PASSWORD_ROLES: frozenset[Role] = frozenset({"owner", "manager"})  # back-office logins


def get_employee(conn: apsw.Connection, employee_id: str) -> Employee:
    """The stored employee, secrets included (never hand it out as it is)."""
    row = conn.execute("SELECT data FROM employees WHERE id = ?", (employee_id,)).fetchone()
    if row is None:
        raise NotFound(f"There is no employee {employee_id}.", id=employee_id)
    return rowdata.decode(row[0], Employee)


def list_employees(conn: apsw.Connection, active: bool | None = None) -> list[EmployeeView]:
    """Employees by name; ``active`` filters on it when given."""
    where = "" if active is None else f"WHERE active = {int(active)}"
    rows = conn.execute(f"SELECT data FROM employees {where} ORDER BY name COLLATE NOCASE, id")
    return [EmployeeView.of(rowdata.decode(data, Employee)) for (data,) in rows]


async def create_employee(edge: Edge, actor: Actor, data: EmployeeIn) -> Command:
    """A command hiring an employee with a PIN no active colleague holds."""
    _check_owner_rule(actor, None, data.role)
    _check_password_role(data.role, data.password is not None)
    secrets = await _hash(edge, data.pin, data.password)
    employee = Employee(
        id=(data.id or uuid7()).lower(),
        name=data.name,
        role=data.role,
        email=_email(data.email),
        **secrets,
    )

    def command(tx: WriteTx) -> EmployeeView:
        if tx.conn.execute("SELECT 1 FROM employees WHERE id = ?", (employee.id,)).fetchone():
            raise Conflict(f"An employee with id {employee.id} already exists.", id=employee.id)
        _check_unique(tx.conn, employee, {"pin", "email"})
        tx.put(people_doc(edge.org_id), "employees", employee)
        audit(
            tx,
            edge,
            actor,
            "employee.create",
            "employee",
            employee.id,
            detail={"role": employee.role},
        )
        return EmployeeView.of(employee)

    return command


async def patch_employee(
    edge: Edge, actor: Actor, employee_id: str, data: EmployeePatch
) -> Command:
    """A command changing only the given fields; a new PIN or password is hashed first."""
    changes: dict[str, Any] = msgspec.to_builtins(data)  # UNSET fields are left out
    pin, password = changes.pop("pin", None), changes.pop("password", None)
    if changes.get("email"):
        changes["email"] = _email(changes["email"])
    if changes.get("active") is False and employee_id == actor.employee_id:
        raise Conflict("You cannot deactivate yourself: ask another manager.", field="active")
    secrets = await _hash(edge, pin, password) if pin or password else {}
    named = sorted({*changes, *(["pin"] if pin else []), *(["password"] if password else [])})

    def command(tx: WriteTx) -> EmployeeView:
        current = get_employee(tx.conn, employee_id)
        if not named:
            return EmployeeView.of(current)
        fields = {**changes, **secrets}
        updated = msgspec.structs.replace(current, **fields)
        _check_owner_rule(actor, current, updated.role)
        _check_password_role(updated.role, password is not None)
        if updated.role not in PASSWORD_ROLES and updated.password_hash is not None:
            fields["password_hash"] = None  # a demoted manager loses the back-office login
            updated = msgspec.structs.replace(updated, password_hash=None)
        _check_last_owner(tx.conn, current, updated)
        _check_unique(tx.conn, updated, set(named))
        tx.patch(people_doc(edge.org_id), "employees", employee_id, fields)
        audit(tx, edge, actor, "employee.update", "employee", employee_id, detail={"fields": named})
        return EmployeeView.of(updated)

    return command


async def _hash(edge: Edge, pin: str | None, password: str | None) -> dict[str, str]:
    pepper = pin_pepper(edge.store.read, edge.org_id)
    return await asyncio.to_thread(secret_fields, pepper, pin, password)


def _email(email: str | None) -> str | None:
    return email.strip().lower() if email else None


def _check_owner_rule(actor: Actor, current: Employee | None, role: Role) -> None:
    """Only an owner may hire, promote to, or change an owner."""
    touches_owner = role == "owner" or (current is not None and current.role == "owner")
    if touches_owner and actor.role != "owner":
        raise PermissionDenied("Only an owner may create or change an owner.", EMPLOYEE_WRITE)


def _check_password_role(role: Role, has_password: bool) -> None:
    if has_password and role not in PASSWORD_ROLES:
        raise InvalidInput(
            f"only owners and managers have a password, not a {role}", field="password"
        )


def _check_last_owner(conn: apsw.Connection, current: Employee, updated: Employee) -> None:
    """The org must keep at least one active owner."""
    if current.role != "owner" or not current.active:
        return
    if updated.role == "owner" and updated.active:
        return
    row = conn.execute(
        "SELECT count(*) FROM employees WHERE role = 'owner' AND active = 1 AND id != ?",
        (current.id,),
    ).fetchone()
    if row[0] == 0:
        raise Conflict("The store needs at least one active owner.", field="role")


def _check_unique(conn: apsw.Connection, employee: Employee, changed: set[str]) -> None:
    """A PIN (and an e-mail) belongs to one active employee; the refusal names no one."""
    if not employee.active:
        return
    checks = [("pin", "pin_tag", employee.pin_tag), ("email", "lower(email)", employee.email)]
    for field, column, value in checks:
        if value is None or not ({field, "active"} & changed):
            continue
        taken = conn.execute(
            f"SELECT 1 FROM employees WHERE {column} = ? AND active = 1 AND id != ?",
            (value, employee.id),
        ).fetchone()
        if taken:
            raise Conflict(f"That {field} is already in use: choose another.", field=field)
