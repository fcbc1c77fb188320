"""Routes of the employees area: staff, their roles, PINs and back-office passwords."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Router, get, patch, post
from litestar.params import FromPath, JSONBody, Parameter

from edge.app.auth.principal import Actor, requires
from edge.app.context import Edge
from edge.app.employees import service
from edge.app.employees.schemas import EmployeeIn, EmployeePatch, EmployeeView
from edge.domain.permissions import EMPLOYEE_READ, EMPLOYEE_WRITE


def _edge(request: Request[Any, Any, Any]) -> Edge:
    return request.app.state.edge  # type: ignore[no-any-return]


@get("/employees", guards=[requires(EMPLOYEE_READ)])
async def list_employees(
    request: Request[Actor, Any, Any],
    active: Annotated[bool | None, Parameter(description="only (in)active employees")] = None,
) -> list[EmployeeView]:
    """Employees by name (no PIN or password hashes)."""
    return service.list_employees(_edge(request).store.read, active)


@get("/employees/{employee_id:str}", guards=[requires(EMPLOYEE_READ)])
async def get_employee(
    request: Request[Actor, Any, Any], employee_id: FromPath[str]
) -> EmployeeView:
    """One employee; ``has_pin``: they can log in by PIN at this store."""
    conn = _edge(request).store.read
    return service.view(conn, service.get_employee(conn, employee_id))


@post("/employees", guards=[requires(EMPLOYEE_WRITE)], status_code=201)
async def create_employee(
    request: Request[Actor, Any, Any], data: JSONBody[EmployeeIn]
) -> EmployeeView:
    """Hire an employee at this store; the PIN must not belong to an active colleague here (409,
    counted as a wrong PIN: 429 after a few)."""
    return await service.create_employee(_edge(request), request.user, data)


@patch("/employees/{employee_id:str}", guards=[requires(EMPLOYEE_WRITE)])
async def patch_employee(
    request: Request[Actor, Any, Any], employee_id: FromPath[str], data: JSONBody[EmployeePatch]
) -> EmployeeView:
    """Change the given fields; ``active: false`` deactivates (no more logins); ``pin`` sets the
    PIN at this store (409 when a colleague here has it, counted as a wrong PIN)."""
    return await service.patch_employee(_edge(request), request.user, employee_id, data)


router = Router(
    path="/api/v1",
    route_handlers=[list_employees, get_employee, create_employee, patch_employee],
    tags=["employees"],
)
