"""Counter increase per window: resets, wraps, the predecessor, and consistency across windows."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cloud.store.counters import SeriesSamples, delta, increase_by_group, series_increase
from cloud.store.query import Selection, Windows
from cloud.store.results import Window, WindowSeries

H = 3_600_000
T0 = 1_764_288_000_000


def test_delta() -> None:
    assert delta(10, 15, None) == 5
    assert delta(15, 15, None) == 0
    assert delta(15, 4, None) == 4  # restarted from 0
    assert delta(65_530, 3, 65_536) == 9  # rolled over
    assert delta(70_000, 3, 65_536) == 3  # above the wrap point: a reset after all


def test_the_later_sample_owns_the_delta_and_the_predecessor_counts() -> None:
    windows = Windows.of(T0, T0 + 2 * H, H)
    samples = [(T0 - 5 * H, 100), (T0, 110), (T0 + H - 1, 111), (T0 + H, 120), (T0 + 2 * H, 999)]
    assert series_increase(samples, windows) == {T0: 11, T0 + H: 9}


def test_a_first_sample_alone_has_no_increase() -> None:
    windows = Windows.of(T0, T0 + H, H)
    assert series_increase([(T0 + 5, 42.0)], windows) == {}
    assert series_increase([(T0 + 5, 42.0), (T0 + 6, 42.0)], windows) == {T0: 0}


def test_groups_add_their_series_in_tag_order() -> None:
    selection = Selection.of("energy", None, ("gateway",))
    windows = Windows.of(T0, T0 + H, H)
    series = [
        SeriesSamples({"gateway": "g", "device": "b"}, [(T0, 5.0), (T0 + 1, 0.5)]),
        SeriesSamples({"gateway": "g", "device": "a"}, [(T0, 1000.0), (T0 + 2, 1001.0)]),
        SeriesSamples({"device": "c"}, [(T0, 1), (T0 + 2, 3)]),
    ]
    assert increase_by_group(series, selection, windows) == [
        WindowSeries({"gateway": ""}, [Window(T0, 2)]),
        WindowSeries({"gateway": "g"}, [Window(T0, 1.5)]),
    ]


COUNTER = st.lists(
    st.tuples(st.integers(0, 48 * H), st.integers(0, 10**6)), max_size=40, unique_by=lambda s: s[0]
)


@given(COUNTER, st.sampled_from([H, 2 * H, 6 * H]))
def test_fine_windows_add_up_to_a_coarse_one(samples: list[tuple[int, int]], every: int) -> None:
    samples = sorted((T0 + t, v) for t, v in samples)
    fine = series_increase(samples, Windows.of(T0 + H, T0 + 25 * H, every))
    coarse = series_increase(samples, Windows.of(T0, T0 + 48 * H, 48 * H))
    whole = series_increase(samples, Windows.of(T0 + H, T0 + 25 * H, 24 * H))
    assert sum(fine.values()) == sum(whole.values())
    assert all(value >= 0 for value in (*fine.values(), *coarse.values()))
