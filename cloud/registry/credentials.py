"""Secrets the registry hands out (API tokens, gateway MQTT passwords) and how it keeps them.

Every secret is 32 bytes from :mod:`secrets` (256 bits), shown once to whoever created it and
stored only as ``sha256$<hex digest>``. A slow password hash (argon2, scrypt, bcrypt) exists to make
guessing a *human-chosen* password expensive; a 256-bit random secret cannot be guessed at any
speed, so a slow hash would add tens of milliseconds to every API request (and a way to load the
server) without making anything safer. SHA-256 is preimage resistant, so a stolen table does not
give the secrets back. The ``sha256$`` prefix leaves room to change the scheme later.

Comparisons use :func:`hmac.compare_digest`, whose time does not depend on where two values differ.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SECRET_BYTES = 32
SCHEME = "sha256"


def new_secret() -> str:
    """A fresh random secret: 43 URL-safe characters."""
    return secrets.token_urlsafe(SECRET_BYTES)


def hash_secret(secret: str) -> str:
    """What the registry stores for ``secret``."""
    return f"{SCHEME}${hashlib.sha256(secret.encode('utf-8')).hexdigest()}"


def secret_matches(secret: str, stored_hash: str) -> bool:
    """True when ``secret`` hashes to ``stored_hash``, compared in constant time."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)


UNUSABLE_HASH = hash_secret(new_secret())
"""Compared against when there is no stored hash, so that a miss costs as much as a hit."""
