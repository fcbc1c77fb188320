"""Failed PINs and passwords, counted in the store before the secret is even checked.

Every attempt reserves its place first: one writer transaction counts the failures of each of its
scopes and, when none is over its limit, records this attempt as a failure already. Thirty
guesses sent at once therefore queue in the writer and only the first few get checked; the rest
are refused with 429 and a Retry-After. A success then removes its own reservation and nothing
else: earlier failures stand until they age out (shared.throttle), so one's own PIN between
guesses buys nothing. The store file is the truth, so a restart forgets no failure.

Scopes: a PIN counts against the tablet it is typed on (``device:``) and, when someone logged in
is typing another's PIN (a manager's approval, a new PIN for a colleague), against that employee
too (``employee:``), on whichever tablet. A password counts against the account from one client
address (``password:``), with growing waits rather than a lock: a stranger's guesses from
elsewhere never keep the owner out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from edge.app.auth.principal import Actor
from edge.app.context import Edge
from edge.store.writer import WriteTx
from shared.problems import ApiError
from shared.throttle import Backoff, Lockout, retry_after_s

PASSWORD_BACKOFF = Backoff()
FORGET_ALL_MS = 24 * 60 * 60 * 1000  # no rule looks further back: older rows of any scope go


@dataclass(frozen=True)
class Attempt:
    """A reserved attempt: the failure rows recorded for it, removed if it succeeds."""

    rowids: tuple[int, ...]


def pin_scopes(device_id: str | None, actor: Actor | None = None) -> list[str]:
    """Where a PIN attempt counts: the tablet, and whoever logged in is typing it."""
    scopes = [f"device:{device_id}"] if device_id else []
    if actor is not None:
        scopes.append(f"employee:{actor.employee_id}")
    return scopes


def password_scope(email: str, client: str) -> str:
    return f"password:{email.strip().lower()}|{client}"


async def reserve_pin(edge: Edge, scopes: list[str]) -> Attempt:
    """Reserve a PIN attempt in every scope, or 429 ``locked-out`` while one is locked."""
    rule = Lockout(edge.config.pin_attempts, edge.config.lockout_window_s)

    def command(tx: WriteTx) -> tuple[int, Attempt]:
        since = tx.at_ms - rule.window_s * 1000
        wait = max((rule.wait_ms(_failures(tx, s, since), tx.at_ms) for s in scopes), default=0)
        return wait, (Attempt(()) if wait else _record(tx, scopes, since))

    return await _reserve(
        edge,
        command,
        "Too many wrong PINs: try again in {retry} s, or a manager clears it from a tablet where"
        " they are logged in (this tablet's lockout: DELETE /api/v1/devices/{{id}}/lockout; one"
        " employee's: DELETE /api/v1/employees/{{id}}/lockout).",
    )


async def reserve_password(edge: Edge, email: str, client: str) -> Attempt:
    """Reserve a password attempt for (account, address), or 429 while it must wait."""
    scope, rule = password_scope(email, client), PASSWORD_BACKOFF

    def command(tx: WriteTx) -> tuple[int, Attempt]:
        since = tx.at_ms - round(rule.forget_s * 1000)
        failures = _failures(tx, scope, since)
        wait = rule.wait_ms(len(failures), failures[-1] if failures else None, tx.at_ms)
        return wait, (Attempt(()) if wait else _record(tx, [scope], since))

    return await _reserve(
        edge, command, "Too many wrong passwords from here: wait {retry} s before the next try."
    )


async def _reserve(
    edge: Edge, command: Callable[[WriteTx], tuple[int, Attempt]], refusal: str
) -> Attempt:
    """Run a reservation; 429 ``locked-out`` (``refusal`` with its wait) when it must wait."""
    wait_ms, attempt = await edge.store.writer.run(command)
    if wait_ms:
        retry = retry_after_s(wait_ms)
        detail = refusal.format(retry=retry)
        raise ApiError(429, "locked-out", detail, {"Retry-After": retry})
    return attempt


def clear(tx: WriteTx, scope: str) -> int:
    """A manager lifts a lockout: every failure counted in ``scope`` goes; how many did."""
    tx.conn.execute("DELETE FROM login_failures WHERE scope = ?", (scope,))
    return tx.conn.changes()


async def succeeded(edge: Edge, attempt: Attempt) -> None:
    """The attempt was right: remove its own reservation (earlier failures stay)."""
    if not attempt.rowids:
        return

    def command(tx: WriteTx) -> None:
        tx.conn.executemany(
            "DELETE FROM login_failures WHERE rowid = ?", [(r,) for r in attempt.rowids]
        )

    await edge.store.writer.run(command)


def _failures(tx: WriteTx, scope: str, since_ms: int) -> list[int]:
    rows = tx.conn.execute(
        "SELECT at_ms FROM login_failures WHERE scope = ? AND at_ms > ? ORDER BY at_ms",
        (scope, since_ms),
    )
    return [r[0] for r in rows]


def _record(tx: WriteTx, scopes: list[str], since_ms: int) -> Attempt:
    # Failures that aged out count for nothing: drop them, so the table stays small (those of
    # other scopes too, e.g. a flood of made-up emails, once no rule can still count them).
    tx.conn.executemany(
        "DELETE FROM login_failures WHERE scope = ? AND at_ms <= ?", [(s, since_ms) for s in scopes]
    )
    tx.conn.execute("DELETE FROM login_failures WHERE at_ms <= ?", (tx.at_ms - FORGET_ALL_MS,))
    rowids = []
    for scope in scopes:
        tx.conn.execute(
            "INSERT INTO login_failures (scope, at_ms) VALUES (?, ?)", (scope, tx.at_ms)
        )
        rowids.append(tx.conn.last_insert_rowid())
    return Attempt(tuple(rowids))
