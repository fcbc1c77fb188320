"""How long a login must wait after failures: pure rules, shared by the appliance and the relay.

Two rules, both fed with what the caller counted atomically (in its database):

* ``Lockout`` - a PIN: ``attempts`` failures inside ``window_s`` lock the scope (a tablet, an
  employee) until the oldest of them leaves the window. A PIN has a few thousand values, so the
  number of guesses is what must be bounded, whoever makes them.
* ``Backoff`` - a password, keyed by account *and* client address: ``free`` failures cost
  nothing, then each one doubles the wait before the next try, up to ``max_s``. A stranger
  guessing from elsewhere slows only their own address, never locks the owner out; a long
  password survives a slow trickle of guesses.

Failures are only forgotten with time: a success never erases earlier failures (or four wrong
guesses and one's own PIN, repeated, would guess forever).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Lockout:
    """At most ``attempts`` failures per ``window_s``, then locked until the oldest expires."""

    attempts: int
    window_s: int

    def wait_ms(self, failures_ms: list[int], now_ms: int) -> int:
        """0 when another attempt may go ahead; else how long until one may.

        ``failures_ms``: when the failures inside the window happened, oldest first.
        """
        if len(failures_ms) < self.attempts:
            return 0
        # The attempt frees up when enough failures have left the window to drop below the limit.
        freed_at = failures_ms[len(failures_ms) - self.attempts] + self.window_s * 1000
        return max(1, freed_at - now_ms)


@dataclass(frozen=True)
class Backoff:
    """Growing waits: after ``free`` failures, ``base_s`` * 2^(n - free) before the next try."""

    free: int = 5
    base_s: float = 1.0
    max_s: float = 15 * 60.0
    forget_s: float = 60 * 60.0  # failures older than this no longer count

    def wait_ms(self, failures: int, last_ms: int | None, now_ms: int) -> int:
        """0 when another attempt may go ahead; else how long until one may.

        ``failures``: failures within ``forget_s``; ``last_ms``: when the last one happened.
        """
        if failures < self.free or last_ms is None:
            return 0
        delay_s = min(self.max_s, self.base_s * 2 ** min(failures - self.free, 30))
        return max(0, last_ms + math.ceil(delay_s * 1000) - now_ms)


def retry_after_s(wait_ms: int) -> str:
    """A Retry-After header value: whole seconds, at least one."""
    return str(max(1, math.ceil(wait_ms / 1000)))
