"""Secrets of the appliance: keyed PIN tags and tablet pairing codes (the rest is shared)."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def pin_tag(pepper: str, pin: str) -> str:
    """Keyed hash that finds the one employee a PIN may belong to (then checked with Argon2)."""
    return hmac.new(pepper.encode(), pin.encode(), hashlib.blake2b).hexdigest()[:32]


def new_pairing_code() -> str:
    """Eight digits in two groups, easy to read off a screen and type on a tablet."""
    digits = f"{secrets.randbelow(10**8):08d}"
    return f"{digits[:4]}-{digits[4:]}"
