"""UUIDv7 ids, minted where a fact is born (RFC 9562 §5.7, monotonic within one process).

The random bits make ids unique, not secret (tokens and codes come from ``secrets``), so the fast
Mersenne Twister serves; it is reseeded from the OS in every process.
"""

from __future__ import annotations

import random
import threading
import time

_lock = threading.Lock()
_last_ms = 0
_seq = 0
_prefix = ""  # the text of _last_ms: "tttttttt-tttt"
_getrandbits = random.getrandbits
_VARIANT = 0b10 << 62


def uuid7() -> str:
    """A new time-ordered UUIDv7 string; ids minted in one process sort in minting order."""
    global _last_ms, _seq, _prefix
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            _last_ms, _seq, _prefix = now_ms, _getrandbits(10), _time_text(now_ms)
        else:
            # Same (or a backwards) millisecond: keep order with a 12-bit counter in rand_a.
            _seq += 1
            if _seq > 0xFFF:
                _last_ms += 1
                _seq = 0
                _prefix = _time_text(_last_ms)
        prefix, seq = _prefix, _seq
    rand_b = f"{_VARIANT | _getrandbits(62):016x}"
    return f"{prefix}-7{seq:03x}-{rand_b[:4]}-{rand_b[4:]}"


def _time_text(ms: int) -> str:
    text = f"{ms & ((1 << 48) - 1):012x}"
    return f"{text[:8]}-{text[8:]}"


def now_ms() -> int:
    """Wall-clock UTC time in milliseconds: the appliance's clock is the authority."""
    return time.time_ns() // 1_000_000
