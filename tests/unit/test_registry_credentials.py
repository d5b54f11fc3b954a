"""Registry secrets and hashes, and the topic → gateway guess of dead letters."""

from __future__ import annotations

import hashlib

import pytest

from cloud.registry.credentials import hash_secret, new_secret, secret_matches
from cloud.registry.dead_letters import guess_gateway


def test_secrets_are_long_random_and_url_safe() -> None:
    secrets = {new_secret() for _ in range(100)}
    assert len(secrets) == 100
    for secret in secrets:
        assert len(secret) == 43
        assert set(secret) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        )


def test_the_hash_is_sha256_with_its_scheme() -> None:
    secret = new_secret()
    stored = hash_secret(secret)
    assert stored == "sha256$" + hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in stored
    assert secret_matches(secret, stored)
    assert not secret_matches(secret + "x", stored)
    assert not secret_matches(secret, stored.upper())
    assert not secret_matches(secret, "")


@pytest.mark.parametrize(
    ("topic", "guess"),
    [
        ("eclor/v1/cab-01/telemetry", "cab-01"),
        ("eclor/v9/cab-01/whatever/else", "cab-01"),
        ("eclor/v1/cab-01", "cab-01"),
        ("eclor/v1/Cab-01/telemetry", None),
        ("eclor/v1/+/telemetry", None),
        ("eclor/v1//telemetry", None),
        ("other/v1/cab-01/telemetry", None),
        ("", None),
    ],
)
def test_gateway_guess(topic: str, guess: str | None) -> None:
    assert guess_gateway(topic) == guess
