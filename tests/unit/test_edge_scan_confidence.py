"""Confidence scoring of `eclor edge scan`: weights, outcomes, ranking, the best candidate."""

from __future__ import annotations

import pytest

from edge.config import RtuBus
from edge.profiles import Function
from edge.scan.confidence import (
    EQUALS_WEIGHT,
    MIN_CONFIDENCE,
    RANGE_WEIGHT,
    Check,
    Outcome,
    candidate,
    confidence,
    pick_best,
    rank,
)
from edge.scan.results import Found
from edge.scan.signatures import ReadKey

M, X, R, U = Outcome.MATCH, Outcome.MISMATCH, Outcome.REFUSED, Outcome.UNANSWERED
READ = ReadKey(Function.INPUT_REGISTER, 0, 2)


def range_check(outcome: Outcome) -> Check:
    return Check("a range", READ, outcome, RANGE_WEIGHT)


def equals_check(outcome: Outcome) -> Check:
    return Check("an equals", READ, outcome, EQUALS_WEIGHT)


def eastron(system_type: Outcome) -> list[Check]:
    """The shipped Eastron signatures: voltage range, frequency range, system type equals."""
    return [range_check(M), range_check(M), equals_check(system_type)]


def test_every_signature_matching_is_full_confidence() -> None:
    assert confidence(eastron(M)) == 1.0


@pytest.mark.parametrize("wrong", [X, R])
def test_a_wrong_value_and_a_refusal_earn_nothing(wrong: Outcome) -> None:
    # Two ranges (1 + 1) earned, the equals signature (2) not: 2 / 4.
    assert confidence(eastron(wrong)) == 0.5


def test_no_answer_earns_half_the_weight() -> None:
    assert confidence(eastron(U)) == 0.75


def test_an_equals_signature_weighs_twice_a_range() -> None:
    only_equals = [range_check(X), range_check(X), equals_check(M)]
    only_ranges = [range_check(M), range_check(M), equals_check(X)]
    assert confidence(only_equals) == confidence(only_ranges) == 0.5
    assert confidence([range_check(X), equals_check(M)]) == pytest.approx(2 / 3, abs=1e-3)


def test_silence_alone_proposes_nothing() -> None:
    assert confidence([range_check(U), equals_check(U)]) == 0.0
    assert confidence([range_check(X), equals_check(R)]) == 0.0
    assert confidence([]) == 0.0


def test_rank_drops_zero_and_puts_the_best_first() -> None:
    ranked = rank(
        [
            candidate("eastron-sdm120", eastron(X)),
            candidate("eclor-gate-controller", [equals_check(X)]),
            candidate("eastron-sdm630", eastron(M)),
        ]
    )
    assert [c.model for c in ranked] == ["eastron-sdm630", "eastron-sdm120"]
    assert pick_best(ranked) is ranked[0]


def test_a_fuller_profile_beats_its_subset_when_both_match() -> None:
    # A single-phase profile with only the two ranges matches an SDM630 fully, as does the
    # SDM630 profile: the one proven by more signatures wins.
    subset = candidate("single-phase", [range_check(M), range_check(M)])
    fuller = candidate("three-phase", eastron(M))
    assert subset.confidence == fuller.confidence == 1.0
    assert pick_best(rank([subset, fuller])) == fuller


def test_an_exact_tie_has_no_best_and_is_ambiguous() -> None:
    # The distinguishing signature went unanswered on both Eastron profiles.
    ranked = rank(
        [candidate("eastron-sdm630", eastron(U)), candidate("eastron-sdm120", eastron(U))]
    )
    assert ranked[0].confidence == ranked[1].confidence == 0.75
    assert [c.model for c in ranked] == ["eastron-sdm120", "eastron-sdm630"]  # by name
    assert pick_best(ranked) is None
    found = Found(RtuBus(kind="rtu", name="rs485", port="/dev/ttyUSB0"), 1, tuple(ranked), {})
    assert found.best is None
    assert found.ambiguous


def test_below_the_minimum_there_is_no_best_even_alone() -> None:
    lonely = candidate("eastron-sdm630", eastron(X))
    assert lonely.confidence < MIN_CONFIDENCE
    assert pick_best([lonely]) is None
    found = Found(RtuBus(kind="rtu", name="rs485", port="/dev/ttyUSB0"), 1, (lonely,), {})
    assert found.best is None
    assert not found.ambiguous


def test_a_tie_below_the_minimum_is_not_called_ambiguous() -> None:
    ranked = rank([candidate("a", eastron(X)), candidate("b", eastron(R))])
    found = Found(RtuBus(kind="rtu", name="rs485", port="/dev/ttyUSB0"), 1, tuple(ranked), {})
    assert found.best is None
    assert not found.ambiguous


def test_readings_show_the_matched_values_then_the_identity() -> None:
    checks = (
        Check("voltage_l1_v", READ, M, RANGE_WEIGHT, 230.1, "V"),
        Check("frequency_hz", READ, X, RANGE_WEIGHT, 12.0, "Hz"),
        Check("holding 0x000A", READ, M, EQUALS_WEIGHT, 3.0),
    )
    found = Found(
        RtuBus(kind="rtu", name="rs485", port="/dev/ttyUSB0"),
        1,
        (candidate("eastron-sdm630", checks),),
        {"serial_number": 12345678},
    )
    assert [str(r) for r in found.readings] == [
        "voltage_l1_v 230.1 V",
        "holding 0x000A 3",
        "serial_number 12345678",
    ]
