"""Secrets of the appliance: keyed PIN tags, store PIN keys and tablet pairing codes (the rest is
shared)."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def pin_tag(key: str, pin: str) -> str:
    """Keyed hash that finds the one employee a PIN may belong to (then checked with Argon2).

    Keyed with the store's own PIN key: a tag says nothing to whoever lacks that key, and the
    key never leaves the store's documents.
    """
    return hmac.new(key.encode(), pin.encode(), hashlib.blake2b).hexdigest()[:32]


def new_pin_key() -> str:
    """A store's PIN key: 256 random bits."""
    return secrets.token_hex(32)


def new_pin(digits: int = 6) -> str:
    """A random PIN for a first login (the employee changes it)."""
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def new_pairing_code() -> str:
    """Eight digits in two groups, easy to read off a screen and type on a tablet."""
    digits = f"{secrets.randbelow(10**8):08d}"
    return f"{digits[:4]}-{digits[4:]}"
