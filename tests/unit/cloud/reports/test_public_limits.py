"""The public API's token buckets: burst, refill, Retry-After, bounded memory."""

from __future__ import annotations

import pytest

from cloud.api.public_limits import TokenBucketLimiter


def test_a_burst_is_admitted_then_refused_with_the_wait_for_one_token() -> None:
    limiter = TokenBucketLimiter(rate_per_s=0.1, burst=3, max_clients=10)
    assert [limiter.take("a", 0.0) for _ in range(3)] == [None, None, None]
    assert limiter.take("a", 0.0) == 10
    assert limiter.take("a", 4.0) == 6  # refilled 0.4 token of the 1 needed
    assert limiter.take("a", 10.0) is None


def test_clients_have_their_own_buckets() -> None:
    limiter = TokenBucketLimiter(rate_per_s=1.0, burst=1, max_clients=10)
    assert limiter.take("a", 0.0) is None
    assert limiter.take("a", 0.0) == 1
    assert limiter.take("b", 0.0) is None


def test_refill_stops_at_the_burst() -> None:
    limiter = TokenBucketLimiter(rate_per_s=1.0, burst=2, max_clients=10)
    assert limiter.take("a", 0.0) is None
    assert limiter.take("a", 1000.0) is None
    assert limiter.take("a", 1000.0) is None
    assert limiter.take("a", 1000.0) == 1


def test_the_least_recently_seen_client_is_forgotten_when_full() -> None:
    limiter = TokenBucketLimiter(rate_per_s=0.001, burst=1, max_clients=2)
    limiter.take("a", 0.0)
    limiter.take("b", 0.0)
    limiter.take("a", 1.0)  # refused, but seen: b is now the oldest
    limiter.take("c", 2.0)
    assert len(limiter) == 2
    assert limiter.take("a", 3.0) is not None  # still remembered: still empty
    assert limiter.take("b", 3.0) is None  # forgotten, so a full bucket again


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        TokenBucketLimiter(rate_per_s=0, burst=1, max_clients=1)
