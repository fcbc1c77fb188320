"""Owner password failures, counted in storage before each check: written once for both backends.

A login first reserves its attempt (``take``): one transaction locks the key's row (account and
client address), asks shared.throttle.Backoff whether a try may go ahead now, and if so counts
this one as a failure already. Concurrent guesses therefore queue on the row and each sees the
ones before it; a process restart, or another relay process on the same PostgreSQL, forgets
nothing. A success gives back its own reservation (``undo``) and nothing more: earlier failures
are only forgotten after ``forget_s`` without any.

The steps are plain data, as in ``devices``: each backend runs them with its own ``run_plan``.
"""

from __future__ import annotations

from cloud.relay.storage.devices import Plan, Step
from shared.throttle import Backoff

# Forward-only migration 4, the same text on both backends.
MIGRATION = """
CREATE TABLE login_attempts (
    key text PRIMARY KEY, failures integer NOT NULL, last_ms bigint NOT NULL);
CREATE INDEX login_attempts_last ON login_attempts (last_ms);
"""


def take(key: str, now_ms: int, rule: Backoff) -> Plan[int]:
    """Reserve an attempt for ``key``: 0, or the milliseconds to wait (nothing reserved)."""
    # Keys quiet for longer than the rule remembers count nothing: gone, the table stays small.
    yield Step(
        "DELETE FROM login_attempts WHERE last_ms < :old",
        {"old": now_ms - round(rule.forget_s * 1000)},
    )
    yield Step(
        "INSERT INTO login_attempts (key, failures, last_ms) VALUES (:key, 0, :now)"
        " ON CONFLICT (key) DO NOTHING",
        {"key": key, "now": now_ms},
    )
    ((failures, last_ms),) = yield Step(
        "SELECT failures, last_ms FROM login_attempts WHERE key = :key", {"key": key}, lock=True
    )
    wait_ms = rule.wait_ms(failures, last_ms, now_ms)
    if wait_ms:
        return wait_ms
    yield Step(
        "UPDATE login_attempts SET failures = failures + 1, last_ms = :now WHERE key = :key",
        {"key": key, "now": now_ms},
    )
    return 0


def undo(key: str) -> Plan[None]:
    """The reserved attempt succeeded: it was no failure."""
    yield Step(
        "UPDATE login_attempts SET failures = failures - 1 WHERE key = :key AND failures > 0",
        {"key": key},
    )
