"""Secrets: Argon2 hashes for passwords and PINs, keyed PIN tags, JWTs, random codes and tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's minimum Argon2id profile (19 MiB, t=2): a login stays well under 100 ms on a Pi.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
JWT_ALGORITHM = "HS256"
JWT_KEY_FILE = "keys/jwt.key"


def hash_secret(secret: str) -> str:
    """Argon2id hash of a password or PIN."""
    return _hasher.hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    """True when ``secret`` matches ``stored_hash``; never raises for a wrong or broken hash."""
    if not stored_hash:
        return False
    try:
        return _hasher.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def pin_tag(pepper: str, pin: str) -> str:
    """Keyed hash that finds the one employee a PIN may belong to (then checked with Argon2)."""
    return hmac.new(pepper.encode(), pin.encode(), hashlib.blake2b).hexdigest()[:32]


def token_digest(token: str) -> str:
    """Stored form of a high-entropy token (device tokens, pairing codes): a plain hash suffices."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def new_pairing_code() -> str:
    """Eight digits in two groups, easy to read off a screen and type on a tablet."""
    digits = f"{secrets.randbelow(10**8):08d}"
    return f"{digits[:4]}-{digits[4:]}"


def load_or_create_key(data_dir: Path) -> bytes:
    """The JWT signing key of this appliance, created on first use with owner-only permissions."""
    path = data_dir / JWT_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(secrets.token_bytes(32))
        path.chmod(0o600)
    return path.read_bytes()


def encode_jwt(key: bytes, claims: dict[str, Any]) -> str:
    return jwt.encode(claims, key, algorithm=JWT_ALGORITHM)


def decode_jwt(key: bytes, token: str) -> dict[str, Any]:
    """Verified claims; raises jwt.InvalidTokenError (expired, forged, malformed)."""
    return jwt.decode(token, key, algorithms=[JWT_ALGORITHM], options={"require": ["exp", "sub"]})
