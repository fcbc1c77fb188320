"""Token buckets: a key (a device, an email) spends up to ``burst`` at once, then a steady rate."""

from __future__ import annotations

import time
from collections.abc import Callable

MAX_KEYS = 10_000  # beyond this, idle buckets are forgotten (a full bucket is the default anyway)


class RateLimiter:
    """Per-key token buckets; ``take`` spends one token or says how long until one is back."""

    def __init__(
        self, rate_per_s: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("a rate limit needs a rate above 0 and a burst of at least 1")
        self.rate_per_s, self.burst, self._clock = rate_per_s, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self.refused = 0

    def take(self, key: str) -> float:
        """0 when a token was spent; otherwise the seconds to wait before trying again."""
        now = self._clock()
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate_per_s)
        if tokens >= 1.0:
            if key not in self._buckets and len(self._buckets) >= MAX_KEYS:
                self._forget_idle(now)
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        self.refused += 1
        return (1.0 - tokens) / self.rate_per_s

    def _forget_idle(self, now: float) -> None:
        full_after_s = self.burst / self.rate_per_s
        idle = [k for k, (_, at) in self._buckets.items() if now - at >= full_after_s]
        for key in idle or list(self._buckets):  # a flood of fresh keys: start over
            del self._buckets[key]
