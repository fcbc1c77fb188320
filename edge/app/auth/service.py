"""Pairing tablets, logging employees in, and resolving inline manager overrides.

Every PIN or password attempt is reserved in the store before the secret is checked
(edge.app.auth.lockout); PINs are looked up among this store's verifiers only
(edge.app.auth.pins)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import apsw
import jwt
import msgspec

from edge.app.audit import audit
from edge.app.auth import lockout, pins
from edge.app.auth.principal import Actor, device_refused, device_revoked
from edge.app.auth.tokens import TokenPair, issue_tokens
from edge.app.context import Edge
from edge.app.security import new_pairing_code
from edge.store import rowdata
from edge.store.db import connect, db_path
from edge.store.writer import WriteTx
from shared.credentials import decode_jwt, new_token, token_digest, verify_secret
from shared.ids import uuid7
from shared.problems import ApiError
from shared.schemas.documents import Employee


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
    """Log in by PIN on a paired tablet; every wrong PIN counts against the tablet."""
    device_id = device_for_token(edge.store.read, device_token)
    employee = await check_pin(edge, lockout.pin_scopes(device_id), pin, device_id)
    return issue_tokens(edge, employee, device_id)


async def password_login(edge: Edge, email: str, password: str, client: str) -> TokenPair:
    """Back-office login for owners and managers; failures slow this address for this account."""
    email = email.strip().lower()
    attempt = await lockout.reserve_password(edge, email, client)
    row = edge.store.read.execute(
        "SELECT data FROM employees WHERE lower(email) = ? AND active = 1 AND role IN"
        " ('owner', 'manager')",
        (email,),
    ).fetchone()
    employee = rowdata.decode(row[0], Employee) if row else None
    ok = await asyncio.to_thread(
        verify_secret, employee.password_hash if employee else None, password
    )
    if not ok or employee is None:
        raise ApiError(401, "login-failed", "Wrong email or password.")
    await lockout.succeeded(edge, attempt)
    return issue_tokens(edge, employee, None)


async def refresh_tokens(edge: Edge, refresh_token: str) -> TokenPair:
    """A new token pair for a still-active employee holding a valid refresh token, on a tablet
    that is still paired."""
    try:
        claims = decode_jwt(edge.jwt_key, refresh_token)
    except jwt.InvalidTokenError as exc:
        raise ApiError(
            401, "unauthorized", "The refresh token is expired or invalid: log in again."
        ) from exc
    if claims.get("typ") != "refresh":
        raise ApiError(401, "unauthorized", "That is not a refresh token.")
    device_id = claims.get("dev")
    if device_id and device_revoked(edge.store.read, device_id):
        raise device_refused()
    employee = active_employee(edge.store.read, claims["sub"])
    if employee is None:
        raise ApiError(401, "unauthorized", "This employee is no longer active.")
    return issue_tokens(edge, employee, device_id)


async def check_pin(
    edge: Edge, scopes: list[str], pin: str, device_id: str | None = None
) -> Employee:
    """The active employee whose PIN at this store this is, or a 401 that counts in ``scopes``
    (429 while one of them is locked out)."""
    attempt = await lockout.reserve_pin(edge, scopes)
    found = await asyncio.to_thread(pins.find_by_pin, edge, pin)
    if found is None:
        raise ApiError(401, "wrong-pin", "That PIN is not right.")
    await lockout.succeeded(edge, attempt)
    if found.verifier.pin_tag is None:
        await _tag(edge, found, pin, device_id)
    return found.employee


async def _tag(edge: Edge, found: pins.Found, pin: str, device_id: str | None) -> None:
    """A verifier moved from the old people document gets its tag at its first login."""
    employee = found.employee
    actor = Actor(
        employee_id=employee.id, role=employee.role, name=employee.name, device_id=device_id
    )

    def command(tx: WriteTx) -> None:
        if pins.tag_untagged(tx, edge.store_id, found, pin):
            audit(tx, edge, actor, "employee.pin_tagged", "employee", employee.id)

    await edge.store.writer.run(command)


async def resolve_approver(edge: Edge, actor: Actor, manager_pin: str | None) -> Actor | None:
    """The employee approving inline with their PIN (None when no PIN was given).

    A wrong approval PIN counts against the tablet and against the employee asking, so nobody
    grinds a manager's PIN through approvals, from one tablet or from many.
    """
    if not manager_pin:
        return None
    scopes = lockout.pin_scopes(actor.device_id, actor)
    employee = await check_pin(edge, scopes, manager_pin, actor.device_id)
    return Actor(
        employee_id=employee.id, role=employee.role, name=employee.name, device_id=actor.device_id
    )


def active_employee(conn: apsw.Connection, employee_id: str) -> Employee | None:
    row = conn.execute(
        "SELECT data FROM employees WHERE id = ? AND active = 1", (employee_id,)
    ).fetchone()
    return rowdata.decode(row[0], Employee) if row else None
