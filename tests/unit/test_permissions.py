from __future__ import annotations

import re
from typing import get_args

import pytest

from edge.domain import permissions
from edge.domain.errors import ApprovalRequired, PermissionDenied
from edge.domain.permissions import (
    ALL_PERMISSIONS,
    ROLE_PERMISSIONS,
    authorize,
    has_permission,
    require,
)
from shared.schemas.documents import Role

ROLES: tuple[Role, ...] = get_args(Role)
STAFF: tuple[Role, ...] = ("cashier", "server", "kitchen")


def documented_table() -> dict[str, set[str]]:
    """The role table drawn in the module docstring, as permission -> roles."""
    doc = permissions.__doc__ or ""
    header = next(line for line in doc.splitlines() if line.startswith("permission "))
    columns = [(m.start(), m.group()) for m in re.finditer(r"\w+", header)][1:]
    table: dict[str, set[str]] = {}
    for line in doc.splitlines():
        if re.match(r"[a-z]+\.[a-z_]+ ", line):
            name = line.split()[0]
            table[name] = {role for start, role in columns if line[start : start + 1] == "x"}
    return table


def test_every_role_has_a_permission_set() -> None:
    assert set(ROLE_PERMISSIONS) == set(ROLES)


def test_every_constant_is_a_known_permission() -> None:
    constants = {v for k, v in vars(permissions).items() if k.isupper() and isinstance(v, str)}
    assert constants == set(ALL_PERMISSIONS)


def test_role_sets_hold_only_known_permissions() -> None:
    for granted in ROLE_PERMISSIONS.values():
        assert granted <= ALL_PERMISSIONS


def test_docstring_table_matches_the_role_permissions() -> None:
    table = documented_table()
    assert set(table) == set(ALL_PERMISSIONS)
    for permission, roles in table.items():
        holders = {role for role in ROLES if permission in ROLE_PERMISSIONS[role]}
        assert roles == holders, permission


def test_owner_and_manager_hold_everything() -> None:
    assert ROLE_PERMISSIONS["owner"] == ALL_PERMISSIONS
    assert ROLE_PERMISSIONS["manager"] == ALL_PERMISSIONS


@pytest.mark.parametrize(
    "permission",
    [
        "payment.refund",
        "order.void_paid",
        "order.reopen",
        "order.discount_large",
        "drawer.no_sale",
        "drawer.paid_in_out",
        "timeclock.adjust",
        "day.close",
        "settings.write",
        "employee.write",
    ],
)
def test_sensitive_actions_are_held_by_no_staff_role(permission: str) -> None:
    assert not any(has_permission(role, permission) for role in STAFF)


def test_cashier_sells_takes_payment_and_runs_a_till() -> None:
    for permission in ("order.create", "order.send", "payment.take", "drawer.open", "drawer.close"):
        assert has_permission("cashier", permission)
    assert not has_permission("cashier", "drawer.report")


def test_server_sells_and_takes_payment_but_runs_no_drawer() -> None:
    for permission in ("order.create", "order.edit", "order.send", "payment.take"):
        assert has_permission("server", permission)
    assert not has_permission("server", "drawer.open")


def test_kitchen_reads_orders_and_bumps_tickets_only() -> None:
    assert has_permission("kitchen", "order.read")
    assert has_permission("kitchen", "kds.bump")
    assert not has_permission("kitchen", "order.create")
    assert not has_permission("kitchen", "payment.take")


def test_unknown_permission_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown permission"):
        has_permission("owner", "order.delete")


def test_require_passes_a_held_permission() -> None:
    require("cashier", "payment.take")


def test_require_refuses_a_missing_permission_naming_it() -> None:
    with pytest.raises(PermissionDenied) as caught:
        require("kitchen", "payment.take")
    assert caught.value.permission == "payment.take"
    assert caught.value.code == "permission-denied"


def test_authorize_lets_an_actor_use_their_own_permission() -> None:
    assert authorize("manager", "payment.refund", None) == "self"


def test_authorize_ignores_an_approver_the_actor_does_not_need() -> None:
    assert authorize("manager", "payment.refund", "cashier") == "self"


def test_authorize_asks_for_an_override_when_the_actor_lacks_the_permission() -> None:
    with pytest.raises(ApprovalRequired) as caught:
        authorize("cashier", "payment.refund", None)
    assert caught.value.permission == "payment.refund"


def test_authorize_accepts_a_manager_override() -> None:
    assert authorize("cashier", "payment.refund", "manager") == "override"


def test_authorize_refuses_an_approver_who_lacks_the_permission_too() -> None:
    with pytest.raises(PermissionDenied) as caught:
        authorize("cashier", "payment.refund", "server")
    assert caught.value.permission == "payment.refund"
