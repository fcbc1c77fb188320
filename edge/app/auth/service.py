"""Pairing tablets, logging employees in, lockout, and resolving inline manager overrides."""

from __future__ import annotations

import asyncio
from pathlib import Path

import apsw
import jwt
import msgspec

from edge.app.audit import audit
from edge.app.auth.principal import Actor
from edge.app.auth.tokens import TokenPair, issue_tokens
from edge.app.context import Edge
from edge.app.security import new_pairing_code, pin_tag
from edge.store import rowdata
from edge.store.db import connect, db_path
from edge.store.writer import WriteTx
from shared.credentials import decode_jwt, new_token, token_digest, verify_secret
from shared.ids import uuid7
from shared.problems import ApiError
from shared.schemas.documents import Employee, people_doc


class PairingCode(msgspec.Struct, kw_only=True):
    code: str
    expires_at_ms: int


class PairedDevice(msgspec.Struct, kw_only=True):
    device_id: str
    device_token: str
    name: str


def create_pairing_code(conn: apsw.Connection, now_ms: int, ttl_s: int) -> PairingCode:
    """Store a one-time code (hashed) and return it; works inside any write transaction."""
    code = new_pairing_code()
    expires = now_ms + ttl_s * 1000
    conn.execute(
        "INSERT INTO pairing_codes (code_hash, expires_at_ms) VALUES (?, ?)",
        (token_digest(code), expires),
    )
    return PairingCode(code=code, expires_at_ms=expires)


def issue_pairing_code_offline(data_dir: Path, now_ms: int, ttl_s: int) -> PairingCode:
    """A pairing code written from outside the server (the CLI, the setup page).

    Only a local, never-replicated table is written, so this is safe beside a running server
    (SQLite serialises the two writers; the server owns all documents).
    """
    conn = connect(db_path(data_dir), writer=True)
    try:
        with conn:
            return create_pairing_code(conn, now_ms, ttl_s)
    finally:
        conn.close()


async def pair_device(edge: Edge, code: str, name: str) -> PairedDevice:
    """Exchange a pairing code for a device token; the code dies on first use."""
    token = new_token()

    def command(tx: WriteTx) -> PairedDevice:
        row = tx.conn.execute(
            "SELECT expires_at_ms, used_at_ms FROM pairing_codes WHERE code_hash = ?",
            (token_digest(code.strip()),),
        ).fetchone()
        if row is None or row[1] is not None or row[0] < tx.at_ms:
            raise ApiError(
                403,
                "pairing-code-invalid",
                "That pairing code is wrong, used or expired: ask a manager for a new one.",
            )
        device_id = uuid7()
        tx.conn.execute(
            "UPDATE pairing_codes SET used_at_ms = ?, device_id = ? WHERE code_hash = ?",
            (tx.at_ms, device_id, token_digest(code.strip())),
        )
        tx.conn.execute(
            "INSERT INTO devices (id, name, token_hash, paired_at_ms) VALUES (?, ?, ?, ?)",
            (device_id, name, token_digest(token), tx.at_ms),
        )
        audit(tx, edge, None, "device.pair", "device", device_id, detail={"name": name})
        return PairedDevice(device_id=device_id, device_token=token, name=name)

    return await edge.store.writer.run(command)


def device_for_token(conn: apsw.Connection, token: str | None) -> str:
    """The id of the paired, unrevoked device holding ``token``."""
    if not token:
        raise ApiError(
            401,
            "device-not-paired",
            "This tablet is not paired: send its 'X-Device-Token' or pair it first.",
        )
    row = conn.execute(
        "SELECT id FROM devices WHERE token_hash = ? AND revoked_at_ms IS NULL",
        (token_digest(token),),
    ).fetchone()
    if row is None:
        raise ApiError(
            401, "device-not-paired", "This tablet's pairing is unknown or revoked: pair it again."
        )
    return str(row[0])


async def pin_login(edge: Edge, device_token: str | None, pin: str) -> TokenPair:
    """Log in by PIN on a paired tablet; wrong PINs count towards the device's lockout."""
    device_id = device_for_token(edge.store.read, device_token)
    employee = await check_pin(edge, f"device:{device_id}", pin)
    return issue_tokens(edge, employee, device_id)


async def password_login(edge: Edge, email: str, password: str) -> TokenPair:
    """Back-office login for owners and managers."""
    scope = f"email:{email.strip().lower()}"
    ensure_not_locked(edge, scope)
    row = edge.store.read.execute(
        "SELECT data FROM employees WHERE lower(email) = ? AND active = 1 AND role IN"
        " ('owner', 'manager')",
        (email.strip().lower(),),
    ).fetchone()
    employee = rowdata.decode(row[0], Employee) if row else None
    ok = await asyncio.to_thread(
        verify_secret, employee.password_hash if employee else None, password
    )
    if not ok or employee is None:
        await record_failure(edge, scope)
        raise ApiError(401, "login-failed", "Wrong email or password.")
    return issue_tokens(edge, employee, None)


async def refresh_tokens(edge: Edge, refresh_token: str) -> TokenPair:
    """A new token pair for a still-active employee holding a valid refresh token."""
    try:
        claims = decode_jwt(edge.jwt_key, refresh_token)
    except jwt.InvalidTokenError as exc:
        raise ApiError(
            401, "unauthorized", "The refresh token is expired or invalid: log in again."
        ) from exc
    if claims.get("typ") != "refresh":
        raise ApiError(401, "unauthorized", "That is not a refresh token.")
    employee = active_employee(edge.store.read, claims["sub"])
    if employee is None:
        raise ApiError(401, "unauthorized", "This employee is no longer active.")
    return issue_tokens(edge, employee, claims.get("dev"))


async def check_pin(edge: Edge, scope: str, pin: str) -> Employee:
    """The active employee whose PIN this is, or a 401 that counts towards the lockout."""
    ensure_not_locked(edge, scope)
    employee = find_by_pin(edge, pin)
    ok = await asyncio.to_thread(verify_secret, employee.pin_hash if employee else None, pin)
    if not ok or employee is None:
        await record_failure(edge, scope)
        raise ApiError(401, "wrong-pin", "That PIN is not right.")
    await clear_failures(edge, scope)
    return employee


async def resolve_approver(edge: Edge, actor: Actor, manager_pin: str | None) -> Actor | None:
    """The employee approving inline with their PIN (None when no PIN was given)."""
    if not manager_pin:
        return None
    scope = f"device:{actor.device_id}" if actor.device_id else f"employee:{actor.employee_id}"
    employee = await check_pin(edge, scope, manager_pin)
    return Actor(
        employee_id=employee.id, role=employee.role, name=employee.name, device_id=actor.device_id
    )


def find_by_pin(edge: Edge, pin: str) -> Employee | None:
    conn = edge.store.read
    row = conn.execute(
        "SELECT value FROM doc_values WHERE doc_id = ? AND collection = 'meta' AND key ="
        " 'pin_pepper'",
        (people_doc(edge.org_id),),
    ).fetchone()
    if row is None:
        return None
    tag = pin_tag(msgspec.json.decode(row[0]), pin)
    found = conn.execute(
        "SELECT data FROM employees WHERE pin_tag = ? AND active = 1", (tag,)
    ).fetchone()
    return rowdata.decode(found[0], Employee) if found else None


def active_employee(conn: apsw.Connection, employee_id: str) -> Employee | None:
    row = conn.execute(
        "SELECT data FROM employees WHERE id = ? AND active = 1", (employee_id,)
    ).fetchone()
    return rowdata.decode(row[0], Employee) if row else None


def ensure_not_locked(edge: Edge, scope: str) -> None:
    """429 while ``scope`` has had too many wrong attempts inside the lockout window."""
    now = edge.clock()
    window_ms = edge.config.lockout_window_s * 1000
    rows = edge.store.read.execute(
        "SELECT at_ms FROM login_failures WHERE scope = ? AND at_ms > ? ORDER BY at_ms",
        (scope, now - window_ms),
    ).fetchall()
    if len(rows) >= edge.config.pin_attempts:
        retry_s = max(1, (rows[-edge.config.pin_attempts][0] + window_ms - now) // 1000)
        raise ApiError(
            429,
            "locked-out",
            f"Too many wrong attempts: try again in {retry_s} s or ask a manager.",
            {"Retry-After": str(retry_s)},
        )


async def record_failure(edge: Edge, scope: str) -> None:
    def command(tx: WriteTx) -> None:
        tx.conn.execute(
            "INSERT INTO login_failures (scope, at_ms) VALUES (?, ?)", (scope, tx.at_ms)
        )

    await edge.store.writer.run(command)


async def clear_failures(edge: Edge, scope: str) -> None:
    def command(tx: WriteTx) -> None:
        tx.conn.execute("DELETE FROM login_failures WHERE scope = ?", (scope,))

    await edge.store.writer.run(command)
