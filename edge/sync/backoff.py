"""When to try the relay again: exponential backoff with full jitter (pure)."""

from __future__ import annotations

BASE_S = 1.0
CAP_S = 60.0


def backoff_s(failures: int, jitter: float, base_s: float = BASE_S, cap_s: float = CAP_S) -> float:
    """Seconds to wait after ``failures`` failures in a row; ``jitter`` is a draw from [0, 1).

    Full jitter spreads a fleet of appliances coming back after the same outage over the whole
    window instead of stampeding the relay at once.
    """
    if failures <= 0:
        return 0.0
    ceiling = min(cap_s, base_s * 2 ** min(failures - 1, 30))
    return max(0.05, jitter * ceiling)
