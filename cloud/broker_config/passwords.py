"""Mosquitto 2's password-file hash: ``$7$<iterations>$<salt>$<hash>``, made in Python.

This is what ``mosquitto_passwd`` writes by default since Mosquitto 2.0 (``-H sha512-pbkdf2``):
PBKDF2-HMAC-SHA512 over the UTF-8 password, with a 12-byte random salt, 101 iterations, and a
64-byte result; salt and result are standard base64 with padding. The broker reads the iteration
count from the line, so another count works too; we keep Mosquitto's default because every
secret hashed here is 256 bits from :mod:`secrets` (see :mod:`cloud.registry.credentials`):
iterations slow down guessing of human passwords, and such a secret cannot be guessed, while each
iteration costs the broker CPU at every CONNECT.

The registry stores this hash (``broker_hash``) next to its own SHA-256 of the same secret, made
from the plaintext at the one moment it exists, so that the password file can be written again at
any time without the secret. A hash is a verifier, not a secret, but it is still written only to
0600 files.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

PREFIX = "$7$"
ITERATIONS = 101
SALT_BYTES = 12
HASH_BYTES = 64
DIGEST = "sha512"
MAX_ITERATIONS = 10_000_000


def mosquitto_hash(
    password: str, *, iterations: int = ITERATIONS, salt: bytes | None = None
) -> str:
    """``password`` as Mosquitto 2 stores it in a password file (the part after ``user:``)."""
    if not 1 <= iterations <= MAX_ITERATIONS:
        raise ValueError(f"iterations {iterations}: 1-{MAX_ITERATIONS}")
    chosen = os.urandom(SALT_BYTES) if salt is None else salt
    if not chosen:
        raise ValueError("the salt is empty")
    derived = _derive(password, chosen, iterations)
    return f"{PREFIX}{iterations}${_b64(chosen)}${_b64(derived)}"


def mosquitto_verify(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored`` (a ``$7$`` hash), compared in constant time.
    A malformed ``stored`` is simply no match."""
    try:
        iterations, salt, expected = parse_mosquitto_hash(stored)
    except ValueError:
        return False
    return hmac.compare_digest(_derive(password, salt, iterations, len(expected)), expected)


def parse_mosquitto_hash(stored: str) -> tuple[int, bytes, bytes]:
    """``(iterations, salt, derived key)`` of a ``$7$`` hash; :class:`ValueError` saying what is
    wrong (never echoing the value)."""
    if not stored.startswith(PREFIX):
        raise ValueError(f"not a Mosquitto PBKDF2-SHA512 hash (does not start with {PREFIX!r})")
    parts = stored[len(PREFIX) :].split("$")
    if len(parts) != 3 or not parts[0].isdigit():
        raise ValueError("a Mosquitto PBKDF2 hash reads $7$<iterations>$<salt>$<hash>")
    iterations = int(parts[0])
    if not 1 <= iterations <= MAX_ITERATIONS:
        raise ValueError(f"iteration count {iterations} is out of range")
    try:
        salt = base64.b64decode(parts[1], validate=True)
        derived = base64.b64decode(parts[2], validate=True)
    except binascii.Error:
        raise ValueError("the salt or the hash is not valid base64") from None
    if not salt or len(derived) != HASH_BYTES:
        raise ValueError(f"expected a salt and a {HASH_BYTES}-byte hash")
    return iterations, salt, derived


def _derive(password: str, salt: bytes, iterations: int, length: int = HASH_BYTES) -> bytes:
    return hashlib.pbkdf2_hmac(DIGEST, password.encode("utf-8"), salt, iterations, length)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
