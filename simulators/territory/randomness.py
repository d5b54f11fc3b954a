"""Seeded random streams for the territory twin.

Every component draws from its own ``random.Random`` derived from the scenario seed and the
component's name, so adding a cabinet does not change what a loop station draws, and a run is
reproducible whatever the step size of the clock that drives it (as long as the steps are the same).
Python's ``hash`` of a string changes between processes, so names are mixed with CRC-32 instead.
"""

from __future__ import annotations

import math
import random
import zlib


def stream(seed: int, *names: str) -> random.Random:
    """A random stream for the component called ``names`` in a scenario seeded with ``seed``."""
    mixed = seed & 0xFFFFFFFF
    for name in names:
        mixed = zlib.crc32(name.encode("utf-8"), mixed)
    return random.Random((seed << 32) ^ mixed)


def poisson(rng: random.Random, mean: float) -> int:
    """One draw of a Poisson variable: Knuth's product method for small means, PTRS above.

    PTRS is W. Hörmann's transformed rejection with squeeze (1993), exact for any mean ≥ 10.
    """
    if mean <= 0.0:
        return 0
    if mean < 10.0:
        return _poisson_small(rng, mean)
    return _poisson_ptrs(rng, mean)


def _poisson_small(rng: random.Random, mean: float) -> int:
    limit = math.exp(-mean)
    count = 0
    product = rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _poisson_ptrs(rng: random.Random, mean: float) -> int:
    slam = math.sqrt(mean)
    loglam = math.log(mean)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2)
    while True:
        u = rng.random() - 0.5
        v = rng.random()
        us = 0.5 - abs(u)
        k = math.floor((2 * a / us + b) * u + mean + 0.43)
        if us >= 0.07 and v <= vr:
            return k
        if k < 0 or (us < 0.013 and v > us):
            continue
        if (math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b)) <= (
            -mean + k * loglam - math.lgamma(k + 1)
        ):
            return k


def binomial(rng: random.Random, trials: int, probability: float) -> int:
    """A binomial draw; a normal approximation above 50 trials is plenty for vehicle mixes."""
    if trials <= 0 or probability <= 0.0:
        return 0
    if trials <= 50:
        return sum(1 for _ in range(trials) if rng.random() < probability)
    mean = trials * probability
    sd = math.sqrt(mean * (1.0 - probability))
    return min(trials, max(0, round(rng.gauss(mean, sd))))


def lognormal_with_mean(rng: random.Random, mean: float, cv: float) -> float:
    """A positive draw with the given mean and coefficient of variation (service times)."""
    sigma = math.sqrt(math.log(1.0 + cv * cv))
    mu = math.log(mean) - sigma * sigma / 2.0
    return rng.lognormvariate(mu, sigma)
