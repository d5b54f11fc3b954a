"""Counter increase per window, computed the same way for every backend.

Definition (the energy-per-day query: kWh per day from ``energy_import_kwh``):

- within one **series** (measurement + full tag set), take consecutive samples ``(t0, v0)``,
  ``(t1, v1)`` in time order; their delta is ``v1 - v0``, or ``v1`` when ``v1 < v0`` (the counter
  restarted from 0: a meter replaced or cleared), or ``v1 - v0 + wrap_at`` when the caller says
  the counter rolls over at ``wrap_at``;
- the delta belongs to the window holding the **later** sample ``t1``. The earlier sample may lie
  before ``start_ms``: the last sample before the range is used, however old, so nothing is lost
  at the range's edge and the windows of a day add up to the day;
- a window appears when at least one delta falls in it (a zero delta gives ``0``); a series' very
  first sample has no delta;
- a group's increase is the sum of its series' increases (never differences across series, which
  would see two interleaved meters as resets). Series are added in the order of their sorted tags,
  so floating-point sums are the same in every backend.

An ``integer`` counter gives ``int`` increases, a ``float`` one ``float`` increases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cloud.store.query import Selection, Windows
from cloud.store.results import Number, WindowSeries, window_series


@dataclass(frozen=True, slots=True)
class SeriesSamples:
    """One series' samples of one field, in time order; the first may precede the range."""

    tags: dict[str, str]
    samples: list[tuple[int, Number]]


def delta(previous: Number, current: Number, wrap_at: Number | None) -> Number:
    """The increase from ``previous`` to ``current`` of a counter (see the module doc)."""
    if current >= previous:
        return current - previous
    if wrap_at is not None and previous < wrap_at:
        return current - previous + wrap_at
    return current


def series_increase(
    samples: Sequence[tuple[int, Number]], windows: Windows, wrap_at: Number | None = None
) -> dict[int, Number]:
    """``{window start: increase}`` of one series."""
    increases: dict[int, Number] = {}
    previous: Number | None = None
    for time_ms, value in samples:
        if previous is not None and windows.start_ms <= time_ms < windows.end_ms:
            start = windows.start_of(time_ms)
            increases[start] = increases.get(start, 0) + delta(previous, value, wrap_at)
        previous = value
    return increases


def increase_by_group(
    series: Sequence[SeriesSamples],
    selection: Selection,
    windows: Windows,
    wrap_at: Number | None = None,
) -> list[WindowSeries]:
    """The increase per window of each group of ``series``, as query results."""
    groups: dict[tuple[str, ...], dict[int, Number]] = {}
    for one in sorted(series, key=lambda s: sorted(s.tags.items())):
        totals = groups.setdefault(selection.group_of(one.tags), {})
        for start, increase in series_increase(one.samples, windows, wrap_at).items():
            totals[start] = totals.get(start, 0) + increase
    return window_series(selection.group_by, groups)
