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


def uuid7() -> str:
    """A new time-ordered UUIDv7 string; ids minted in one process sort in minting order."""
    global _last_ms, _seq
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms <= _last_ms:
            # Same (or a backwards) millisecond: keep order with a 12-bit counter in rand_a.
            _seq += 1
            if _seq > 0xFFF:
                _last_ms += 1
                _seq = 0
            now_ms = _last_ms
        else:
            _last_ms, _seq = now_ms, _random_bits(10)
        seq = _seq
    rand_b = _random_bits(62)
    value = (now_ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | seq << 64 | 0b10 << 62 | rand_b
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _random_bits(bits: int) -> int:
    return random.getrandbits(bits)


def now_ms() -> int:
    """Wall-clock UTC time in milliseconds: the appliance's clock is the authority."""
    return time.time_ns() // 1_000_000
