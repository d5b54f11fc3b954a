"""The authentication failure limiter: sliding window, Retry-After, bounded memory, client keys."""

from __future__ import annotations

import pytest

from cloud.api.ratelimit import UNKNOWN_CLIENT, FailureLimiter, client_key


def test_the_limit_th_failure_blocks_until_the_oldest_leaves_the_window() -> None:
    limiter = FailureLimiter(limit=3, window_s=60, max_clients=10)
    for t in (0.0, 10.0, 20.0):
        assert limiter.retry_after("a", t) is None
        limiter.record_failure("a", t)
    assert limiter.retry_after("a", 20.0) == 40
    assert limiter.retry_after("a", 59.5) == 1
    assert limiter.retry_after("a", 60.0) is None
    assert limiter.retry_after("b", 20.0) is None


def test_old_failures_do_not_add_up_with_new_ones() -> None:
    limiter = FailureLimiter(limit=3, window_s=60, max_clients=10)
    for t in (0.0, 100.0, 200.0, 300.0):
        limiter.record_failure("a", t)
    assert limiter.retry_after("a", 300.0) is None


def test_memory_is_bounded_by_forgetting_the_least_recently_failing() -> None:
    limiter = FailureLimiter(limit=2, window_s=60, max_clients=3)
    for n, client in enumerate(["a", "b", "c"]):
        limiter.record_failure(client, float(n))
    limiter.record_failure("a", 3.0)  # a is now the most recent
    limiter.record_failure("d", 4.0)
    assert len(limiter) == 3
    assert limiter.retry_after("a", 4.0) == 56  # kept (failures at 0 and 3), and blocked
    limiter.record_failure("b", 5.0)  # b was forgotten: this is its first failure again
    assert limiter.retry_after("b", 5.0) is None
    for many in range(1000):
        limiter.record_failure(f"x{many}", 6.0)
    assert len(limiter) == 3


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:0db8:0001:0002::9", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("testclient", "testclient"),
        (None, UNKNOWN_CLIENT),
        ("", UNKNOWN_CLIENT),
    ],
)
def test_client_keys(host: str | None, key: str) -> None:
    assert client_key(host) == key


def test_nonsense_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        FailureLimiter(limit=0, window_s=60, max_clients=10)
