"""Named permissions, what each role holds, and the manager-override rule.

A permission is a dotted string (``area.verb``). Which roles hold it:

====================  =======  =======  =======  =======  =======
permission            owner    manager  cashier  server   kitchen
====================  =======  =======  =======  =======  =======
catalog.read          x        x        x        x        x
catalog.write         x        x
order.read            x        x        x        x        x
order.create          x        x        x        x
order.edit            x        x        x        x
order.send            x        x        x        x
order.void            x        x        x        x
order.void_paid       x        x
order.reopen          x        x
order.discount        x        x        x        x
order.discount_large  x        x
payment.take          x        x        x        x
payment.refund        x        x
drawer.open           x        x        x
drawer.close          x        x        x
drawer.paid_in_out    x        x
drawer.no_sale        x        x
drawer.report         x        x
day.close             x        x
kds.bump              x        x                          x
timeclock.punch       x        x        x        x        x
timeclock.adjust      x        x
employee.read         x        x
employee.write        x        x
device.pair           x        x
device.manage         x        x
audit.read            x        x
settings.write        x        x
====================  =======  =======  =======  =======  =======

Managers run the store, so they hold everything an owner does; an owner's extra reach (other
stores, billing) lives in the relay, not here. Staff may void an order before any money is taken
(a mistaken ticket is routine), but anything that moves money back out or hides a sale — void after
payment, reopen, refund, paid in/out, no-sale, a large discount — needs a manager, either acting or
approving inline with their PIN (:func:`authorize`). A discount is large when it takes the order's
total discount past the store's limits (``edge.domain.discount_limits``): order.discount_large is
what lets a role give more than them.
"""

from __future__ import annotations

from typing import Literal

from edge.domain.errors import ApprovalRequired, PermissionDenied
from shared.schemas.documents import Role

CATALOG_READ = "catalog.read"
CATALOG_WRITE = "catalog.write"
ORDER_READ = "order.read"
ORDER_CREATE = "order.create"
ORDER_EDIT = "order.edit"
ORDER_SEND = "order.send"
ORDER_VOID = "order.void"
ORDER_VOID_PAID = "order.void_paid"
ORDER_REOPEN = "order.reopen"
ORDER_DISCOUNT = "order.discount"
ORDER_DISCOUNT_LARGE = "order.discount_large"
PAYMENT_TAKE = "payment.take"
PAYMENT_REFUND = "payment.refund"
DRAWER_OPEN = "drawer.open"
DRAWER_CLOSE = "drawer.close"
DRAWER_PAID_IN_OUT = "drawer.paid_in_out"
DRAWER_NO_SALE = "drawer.no_sale"
DRAWER_REPORT = "drawer.report"
DAY_CLOSE = "day.close"
KDS_BUMP = "kds.bump"
TIMECLOCK_PUNCH = "timeclock.punch"
TIMECLOCK_ADJUST = "timeclock.adjust"
EMPLOYEE_READ = "employee.read"
EMPLOYEE_WRITE = "employee.write"
DEVICE_PAIR = "device.pair"
DEVICE_MANAGE = "device.manage"
AUDIT_READ = "audit.read"
SETTINGS_WRITE = "settings.write"

ALL_PERMISSIONS: frozenset[str] = frozenset(
    {
        CATALOG_READ,
        CATALOG_WRITE,
        ORDER_READ,
        ORDER_CREATE,
        ORDER_EDIT,
        ORDER_SEND,
        ORDER_VOID,
        ORDER_VOID_PAID,
        ORDER_REOPEN,
        ORDER_DISCOUNT,
        ORDER_DISCOUNT_LARGE,
        PAYMENT_TAKE,
        PAYMENT_REFUND,
        DRAWER_OPEN,
        DRAWER_CLOSE,
        DRAWER_PAID_IN_OUT,
        DRAWER_NO_SALE,
        DRAWER_REPORT,
        DAY_CLOSE,
        KDS_BUMP,
        TIMECLOCK_PUNCH,
        TIMECLOCK_ADJUST,
        EMPLOYEE_READ,
        EMPLOYEE_WRITE,
        DEVICE_PAIR,
        DEVICE_MANAGE,
        AUDIT_READ,
        SETTINGS_WRITE,
    }
)

# Front-of-house staff: take orders and money, but nothing that reverses a sale.
_FLOOR: frozenset[str] = frozenset(
    {
        CATALOG_READ,
        ORDER_READ,
        ORDER_CREATE,
        ORDER_EDIT,
        ORDER_SEND,
        ORDER_VOID,
        ORDER_DISCOUNT,
        PAYMENT_TAKE,
        TIMECLOCK_PUNCH,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    "owner": ALL_PERMISSIONS,
    "manager": ALL_PERMISSIONS,
    # A cashier owns a till: counts the float in and the cash out, but cannot move cash
    # without a sale (paid in/out, no-sale) or read the drawer's running totals (X report).
    "cashier": _FLOOR | {DRAWER_OPEN, DRAWER_CLOSE},
    "server": _FLOOR,
    "kitchen": frozenset({CATALOG_READ, ORDER_READ, KDS_BUMP, TIMECLOCK_PUNCH}),
}

Approval = Literal["self", "override"]


def _known(permission: str) -> str:
    # A misspelt permission would silently deny (or, worse, never be checked): fail loudly.
    if permission not in ALL_PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")
    return permission


def has_permission(role: Role, permission: str) -> bool:
    """Whether ``role`` holds ``permission``."""
    return _known(permission) in ROLE_PERMISSIONS.get(role, frozenset())


def require(role: Role, permission: str) -> None:
    """Raise PermissionDenied unless ``role`` holds ``permission``."""
    if not has_permission(role, permission):
        raise PermissionDenied(f"the {role} role may not {permission}", permission, role=role)


def authorize(actor_role: Role, permission: str, approver_role: Role | None) -> Approval:
    """Allow an action by the actor's own right ("self") or a manager's inline override."""
    if has_permission(actor_role, permission):
        return "self"
    if approver_role is None:
        raise ApprovalRequired(
            f"{permission} needs a manager override for the {actor_role} role",
            permission,
            role=actor_role,
        )
    if has_permission(approver_role, permission):
        return "override"
    raise PermissionDenied(
        f"the approving {approver_role} role may not {permission} either",
        permission,
        role=actor_role,
        approver_role=approver_role,
    )
