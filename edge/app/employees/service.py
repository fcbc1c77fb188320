"""Employee commands: hire, edit, deactivate, set a PIN at this store; owners guarded.

Secrets are hashed (Argon2, tens of milliseconds each) before a command is built, off the writer
thread, so staff edits never hold up a sale waiting for its commit.

A PIN is unique among the active staff of this store (it alone finds the employee at login), so a
refusal of a taken PIN tells that a colleague here has it. Each such refusal therefore counts as
a wrong PIN for the tablet and the employee trying (edge.app.auth.lockout): a handful of tries,
then 429, as for logins - never an unthrottled oracle of the store's PINs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import apsw
import msgspec

from edge.app.audit import audit
from edge.app.auth import lockout, pins
from edge.app.auth.principal import Actor
from edge.app.context import Edge
from edge.app.employees.records import new_employee, password_fields
from edge.app.employees.schemas import EmployeeIn, EmployeePatch, EmployeeView
from edge.app.relay_link import relay_url
from edge.domain.errors import Conflict, InvalidInput, NotFound, OwnerRefused, PermissionDenied
from edge.domain.permissions import EMPLOYEE_WRITE
from edge.store import rowdata
from edge.store.writer import WriteTx
from shared.ids import uuid7
from shared.schemas.documents import Employee, Role, StorePin, people_doc

T = TypeVar("T")
PASSWORD_ROLES: frozenset[Role] = frozenset({"owner", "manager"})  # back-office logins


def get_employee(conn: apsw.Connection, employee_id: str) -> Employee:
    """The stored employee, secrets included (never hand it out as it is)."""
    row = conn.execute("SELECT data FROM employees WHERE id = ?", (employee_id,)).fetchone()
    if row is None:
        raise NotFound(f"There is no employee {employee_id}.", id=employee_id)
    return rowdata.decode(row[0], Employee)


def view(conn: apsw.Connection, employee: Employee) -> EmployeeView:
    """The public view of an employee, as this store knows them."""
    return EmployeeView.of(employee, pins.has_pin(conn, employee.id))


def list_employees(conn: apsw.Connection, active: bool | None = None) -> list[EmployeeView]:
    """Employees by name; ``active`` filters on it when given."""
    where = "" if active is None else f"WHERE active = {int(active)}"
    rows = conn.execute(f"SELECT data FROM employees {where} ORDER BY name COLLATE NOCASE, id")
    here = pins.with_pins(conn)
    employees = [rowdata.decode(data, Employee) for (data,) in rows]
    return [EmployeeView.of(e, e.id in here) for e in employees]


async def create_employee(edge: Edge, actor: Actor, data: EmployeeIn) -> EmployeeView:
    """Hire an employee, working here with a PIN no active colleague here holds."""
    _check_owner_rule(edge, actor, None, data.role, changes_entry=True)
    _check_password_role(data.role, data.password is not None)
    employee, pin = await asyncio.to_thread(
        new_employee,
        (data.id or uuid7()).lower(),
        _pin_key(edge),
        name=data.name,
        role=data.role,
        pin=data.pin,
        email=data.email,
        password=data.password,
    )

    def command(tx: WriteTx, holder: str | None) -> EmployeeView:
        if tx.conn.execute("SELECT 1 FROM employees WHERE id = ?", (employee.id,)).fetchone():
            raise Conflict(f"An employee with id {employee.id} already exists.", id=employee.id)
        _check_unique_email(tx.conn, employee)
        _check_pin_free(tx.conn, employee.id, pin, holder)
        tx.put(people_doc(edge.org_id), "employees", employee)
        if pin is not None:
            pins.write_pin(tx, edge.store_id, pin)
        detail = {"role": employee.role}
        audit(tx, edge, actor, "employee.create", "employee", employee.id, detail=detail)
        return EmployeeView.of(employee, pin is not None)

    return await _guarded(edge, actor, data.pin, command)


async def patch_employee(
    edge: Edge, actor: Actor, employee_id: str, data: EmployeePatch
) -> EmployeeView:
    """Change only the given fields; a new PIN or password is hashed first."""
    changes: dict[str, Any] = msgspec.to_builtins(data)  # UNSET fields are left out
    pin, password = changes.pop("pin", None), changes.pop("password", None)
    if changes.get("email"):
        changes["email"] = changes["email"].strip().lower()
    if changes.get("active") is False and employee_id == actor.employee_id:
        raise Conflict("You cannot deactivate yourself: ask another manager.", field="active")
    secrets = await asyncio.to_thread(password_fields, password)
    new_pin = (
        await asyncio.to_thread(pins.verifier, _pin_key(edge), employee_id, pin) if pin else None
    )
    named = sorted({*changes, *(["pin"] if pin else []), *(["password"] if password else [])})

    def command(tx: WriteTx, holder: str | None) -> EmployeeView:
        current = get_employee(tx.conn, employee_id)
        if not named:
            return view(tx.conn, current)
        fields = {**changes, **secrets}
        updated = msgspec.structs.replace(current, **fields)
        _check_owner_rule(edge, actor, current, updated.role, changes_entry=bool(fields))
        _check_password_role(updated.role, password is not None)
        if updated.role not in PASSWORD_ROLES and updated.password_hash is not None:
            fields["password_hash"] = None  # a demoted manager loses the back-office login
            updated = msgspec.structs.replace(updated, password_hash=None)
        _check_last_owner(tx.conn, current, updated)
        if {"email", "active"} & set(named):
            _check_unique_email(tx.conn, updated)
        if updated.active and (new_pin is not None or "active" in named):
            _check_pin_free(tx.conn, employee_id, new_pin or _own_pin(tx.conn, employee_id), holder)
        if fields:
            tx.patch(people_doc(edge.org_id), "employees", employee_id, fields)
        if new_pin is not None:
            pins.write_pin(tx, edge.store_id, new_pin)
        audit(tx, edge, actor, "employee.update", "employee", employee_id, detail={"fields": named})
        return EmployeeView.of(updated, new_pin is not None or pins.has_pin(tx.conn, employee_id))

    return await _guarded(edge, actor, pin, command)


async def _guarded(
    edge: Edge, actor: Actor, pin: str | None, command: Callable[[WriteTx, str | None], T]
) -> T:
    """Run a command that may set ``pin``: a PIN already taken here counts as a wrong PIN."""
    if pin is None:
        return await edge.store.writer.run(lambda tx: command(tx, None))
    attempt = await lockout.reserve_pin(edge, lockout.pin_scopes(actor.device_id, actor))
    try:
        # Untagged verifiers (moved from the old people document) are compared by Argon2 here,
        # off the writer; tagged ones again inside the command, which a racing hire cannot dodge.
        holder = await asyncio.to_thread(pins.holder, edge, pin)
        result = await edge.store.writer.run(lambda tx: command(tx, holder))
    except Conflict as exc:
        if exc.context.get("field") != "pin":
            await lockout.succeeded(edge, attempt)
        raise
    except BaseException:
        await lockout.succeeded(edge, attempt)  # not a guess: refused for another reason
        raise
    await lockout.succeeded(edge, attempt)
    return result


def _pin_key(edge: Edge) -> str:
    key = pins.pin_key(edge.store.read, edge.store_id)
    if key is None:  # every store gets one at init, at enrollment, or when it migrates
        raise RuntimeError("this store has no PIN key: restart fynlo-edge to migrate it")
    return key


def _own_pin(conn: apsw.Connection, employee_id: str) -> StorePin | None:
    row = conn.execute("SELECT data FROM store_pins WHERE id = ?", (employee_id,)).fetchone()
    return None if row is None else rowdata.decode(row[0], StorePin)


def _check_pin_free(
    conn: apsw.Connection, employee_id: str, pin: StorePin | None, holder: str | None
) -> None:
    """A PIN belongs to one active employee of this store; the refusal names no one."""
    taken = holder is not None and holder != employee_id
    if not taken and pin is not None and pin.pin_tag is not None:
        taken = (
            conn.execute(
                "SELECT 1 FROM store_pins p JOIN employees e ON e.id = p.id WHERE p.pin_tag = ?"
                " AND e.active = 1 AND p.id != ?",
                (pin.pin_tag, employee_id),
            ).fetchone()
            is not None
        )
    if taken:
        raise Conflict("That PIN is already in use here: choose another.", field="pin")


def _check_owner_rule(
    edge: Edge, actor: Actor, current: Employee | None, role: Role, *, changes_entry: bool
) -> None:
    """Only an owner may hire, promote to, or change an owner (or set an owner's PIN here). In an
    enrolled store, owners are the relay's: it refuses any appliance's change of an owner's entry
    (cloud.relay.policy), so the same change is refused here rather than held back unsynced."""
    touches_owner = role == "owner" or (current is not None and current.role == "owner")
    if touches_owner and actor.role != "owner":
        raise PermissionDenied("Only an owner may create or change an owner.", EMPLOYEE_WRITE)
    if touches_owner and changes_entry and relay_url(edge.store.read) is not None:
        raise OwnerRefused(
            "Owners are added and changed by the org's owner on the relay (the owner's"
            " dashboard), never by a store's appliance; a PIN here can still be set."
        )


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


def _check_unique_email(conn: apsw.Connection, employee: Employee) -> None:
    """An e-mail (a back-office login) belongs to one active employee of the org."""
    if not employee.active or employee.email is None:
        return
    taken = conn.execute(
        "SELECT 1 FROM employees WHERE lower(email) = ? AND active = 1 AND id != ?",
        (employee.email, employee.id),
    ).fetchone()
    if taken:
        raise Conflict("That email is already in use: choose another.", field="email")
