from __future__ import annotations

import pytest

from cloud.scheduler import wall_interval_s


@pytest.mark.parametrize(
    ("every_s", "speed", "expected"),
    [
        (60.0, 1.0, 60.0),  # production: as configured
        (60.0, 0.5, 60.0),  # a slower clock never stretches the jobs
        (3600.0, 60.0, 60.0),  # an hourly job runs every simulated hour
        (60.0, 1200.0, 1.0),  # but never more than once a second
    ],
)
def test_jobs_keep_their_simulated_period_down_to_a_second(
    every_s: float, speed: float, expected: float
) -> None:
    assert wall_interval_s(every_s, speed) == expected
