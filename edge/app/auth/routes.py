"""Routes: tablet pairing, PIN and password login, token refresh, devices."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Router, delete, get, post
from litestar.params import FromPath, HeaderParameter, JSONBody

from edge.app.audit import audit
from edge.app.auth import lockout, service
from edge.app.auth.principal import Actor, forget_device, requires
from edge.app.auth.tokens import TokenPair
from edge.app.context import Edge
from edge.domain.permissions import DEVICE_MANAGE, DEVICE_PAIR, EMPLOYEE_WRITE
from edge.store.writer import WriteTx
from shared.problems import ApiError

Pin = Annotated[str, msgspec.Meta(min_length=4, max_length=8, pattern=r"^[0-9]+$")]


class PairRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]


class PinLogin(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pin: Pin


class PasswordLogin(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=200)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class RefreshRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    refresh_token: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]


class Device(msgspec.Struct, kw_only=True):
    id: str
    name: str
    paired_at_ms: int
    revoked_at_ms: int | None


def _edge(request: Request[Any, Any, Any]) -> Edge:
    return request.app.state.edge  # type: ignore[no-any-return]


@post("/devices/pair", exclude_from_auth=True, status_code=201)
async def pair(
    request: Request[Any, Any, Any], data: JSONBody[PairRequest]
) -> service.PairedDevice:
    """Pair a tablet with a one-time code (from `fynlo-edge pairing-code` or a manager)."""
    return await service.pair_device(_edge(request), data.code, data.name)


@post("/devices/pairing-codes", guards=[requires(DEVICE_PAIR)], status_code=201)
async def pairing_code(request: Request[Actor, Any, Any]) -> service.PairingCode:
    """A new one-time pairing code, valid for ten minutes."""
    edge = _edge(request)
    actor = request.user

    def command(tx: WriteTx) -> service.PairingCode:
        code = service.create_pairing_code(tx.conn, tx.at_ms, edge.config.pairing_code_ttl_s)
        # The code itself is a secret: the audit keeps who asked for one and until when.
        detail = {"expires_at_ms": code.expires_at_ms}
        audit(tx, edge, actor, "device.pairing_code", "device", None, detail=detail)
        return code

    return await edge.store.writer.run(command)


@get("/devices", guards=[requires(DEVICE_MANAGE)])
async def list_devices(request: Request[Actor, Any, Any]) -> list[Device]:
    """Paired tablets, newest first."""
    rows = _edge(request).store.read.execute(
        "SELECT id, name, paired_at_ms, revoked_at_ms FROM devices ORDER BY paired_at_ms DESC"
    )
    return [Device(id=r[0], name=r[1], paired_at_ms=r[2], revoked_at_ms=r[3]) for r in rows]


@delete("/devices/{device_id:str}", guards=[requires(DEVICE_MANAGE)], status_code=204)
async def revoke_device(request: Request[Actor, Any, Any], device_id: FromPath[str]) -> None:
    """Revoke a tablet: its device token, access and refresh tokens stop working at once, and
    its live event socket is closed."""
    edge = _edge(request)
    actor = request.user

    def command(tx: WriteTx) -> None:
        tx.conn.execute(
            "UPDATE devices SET revoked_at_ms = ? WHERE id = ? AND revoked_at_ms IS NULL",
            (tx.at_ms, device_id),
        )
        if tx.conn.changes() == 0:
            raise ApiError(404, "not-found", f"No paired device {device_id}.")
        audit(tx, edge, actor, "device.revoke", "device", device_id)

    await edge.store.writer.run(command)
    forget_device(device_id)  # after the commit: a token checked again now finds it revoked
    edge.hub.cut_off(device_id)


@delete("/devices/{device_id:str}/lockout", guards=[requires(DEVICE_MANAGE)], status_code=204)
async def clear_device_lockout(request: Request[Actor, Any, Any], device_id: FromPath[str]) -> None:
    """Lift a tablet's PIN lockout now rather than when its wrong PINs age out (audited)."""
    await _clear_lockout(request, "device", device_id.lower(), "devices")


@delete("/employees/{employee_id:str}/lockout", guards=[requires(EMPLOYEE_WRITE)], status_code=204)
async def clear_employee_lockout(
    request: Request[Actor, Any, Any], employee_id: FromPath[str]
) -> None:
    """Lift the lockout of an employee who typed wrong PINs for approvals or colleagues."""
    await _clear_lockout(request, "employee", employee_id.lower(), "employees")


async def _clear_lockout(
    request: Request[Actor, Any, Any], kind: str, entity_id: str, table: str
) -> None:
    edge, actor = _edge(request), request.user

    def command(tx: WriteTx) -> None:
        known = tx.conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (entity_id,)).fetchone()
        if known is None:
            raise ApiError(404, "not-found", f"There is no {kind} {entity_id}.")
        cleared = lockout.clear(tx, f"{kind}:{entity_id}")
        audit(tx, edge, actor, f"{kind}.unlock", kind, entity_id, detail={"failures": cleared})

    await edge.store.writer.run(command)


@post("/auth/pin", exclude_from_auth=True, status_code=200)
async def login_pin(
    request: Request[Any, Any, Any],
    data: JSONBody[PinLogin],
    device_token: Annotated[str | None, HeaderParameter(name="X-Device-Token")] = None,
) -> TokenPair:
    """Log in with a PIN on a paired tablet. Five wrong PINs within five minutes lock the tablet
    until the oldest is five minutes old (429 with Retry-After); a right PIN does not undo them."""
    return await service.pin_login(_edge(request), device_token, data.pin)


@post("/auth/password", exclude_from_auth=True, status_code=200)
async def login_password(
    request: Request[Any, Any, Any], data: JSONBody[PasswordLogin]
) -> TokenPair:
    """Back-office login for owners and managers. After five wrong passwords for one account from
    one address, each further try from there waits twice as long as the last (429 with
    Retry-After); other addresses are not slowed."""
    client = request.client.host if request.client else "?"
    return await service.password_login(_edge(request), data.email, data.password, client)


@post("/auth/refresh", exclude_from_auth=True, status_code=200)
async def refresh(request: Request[Any, Any, Any], data: JSONBody[RefreshRequest]) -> TokenPair:
    """Trade a refresh token for a new pair."""
    return await service.refresh_tokens(_edge(request), data.refresh_token)


@get("/auth/me")
async def me(request: Request[Actor, Any, Any]) -> Actor:
    """Who this token belongs to."""
    return request.user


router = Router(
    path="/api/v1",
    route_handlers=[
        pair,
        pairing_code,
        list_devices,
        revoke_device,
        clear_device_lockout,
        clear_employee_lockout,
        login_pin,
        login_password,
        refresh,
        me,
    ],
    tags=["auth & devices"],
)
