"""The test of the test: mSPRT stays within alpha under continuous peeking; a naive repeated
t-test does not; a truly better challenger is found. Seeded, in process, a second or two."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlplat.online.msprt import half_width, log_mixture_ratio, msprt, path, rows_needed

ALPHA, MDE, MIN = 0.05, 0.1, 100
EXPERIMENTS, ROWS = 300, 3000


def experiments(effect: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """EXPERIMENTS x ROWS per-row losses (the challenger's shifted by `effect`) and arms,
    assigned at random 50/50, in arrival order."""
    rng = np.random.default_rng(seed)
    challenger = rng.random((EXPERIMENTS, ROWS)) < 0.5
    losses = rng.exponential(1.0, (EXPERIMENTS, ROWS)) + np.where(challenger, effect, 0.0)
    return losses, challenger


def tolerance(rate: float, n: int) -> float:
    return 3 * math.sqrt(rate * (1 - rate) / n)  # three binomial standard errors


def test_false_positives_under_continuous_peeking_stay_within_alpha() -> None:
    losses, arms = experiments(0.0, seed=1)
    rejected = [msprt(x, a, ALPHA, MDE, MIN).rejected for x, a in zip(losses, arms, strict=True)]
    rate = float(np.mean(rejected))
    assert rate <= ALPHA + tolerance(ALPHA, EXPERIMENTS), rate


def test_a_naive_repeated_t_test_fails_the_same_check() -> None:
    """The same data, a z-test at 5% after every 50 rows: peeking inflates its error far
    beyond alpha, which is why the decision uses the mSPRT."""
    losses, arms = experiments(0.0, seed=1)
    false = 0
    for x, a in zip(losses, arms, strict=True):
        _, z, v = path(x, a, MDE**2, MIN)
        looks = np.arange(2 * MIN, ROWS, 50)
        false += bool(np.any(np.abs(z[looks]) / np.sqrt(v[looks]) > 1.96))
    rate = false / EXPERIMENTS
    assert rate > ALPHA + tolerance(ALPHA, EXPERIMENTS), rate


def test_a_truly_better_challenger_is_found_with_its_effect_inside_the_interval() -> None:
    losses, arms = experiments(-0.15, seed=2)
    results = [msprt(x, a, ALPHA, MDE, MIN) for x, a in zip(losses[:50], arms[:50], strict=True)]
    assert np.mean([r.rejected and r.effect < 0 for r in results]) >= 0.8
    covered = np.mean([r.low <= -0.15 <= r.high for r in results])
    assert covered >= 1 - ALPHA - tolerance(ALPHA, 50)


@pytest.mark.parametrize(
    ("z", "v"), [pytest.param(0.0, 0.01, id="no-difference"), pytest.param(0.3, 0.01, id="far")]
)
def test_the_interval_is_where_the_ratio_stays_below_one_over_alpha(z: float, v: float) -> None:
    """Inverting the test: theta at the interval's edge gives Lambda = 1 / alpha exactly."""
    tau2 = MDE**2
    edge = z + half_width(v, tau2, ALPHA)
    at_edge = log_mixture_ratio(np.array([z - edge]), np.array([v]), tau2)[0]
    assert at_edge == pytest.approx(math.log(1 / ALPHA))


def test_nothing_is_decided_before_both_arms_have_the_minimum_sample() -> None:
    losses = np.r_[np.zeros(MIN - 1), np.ones(MIN - 1) * 5]
    arms = np.r_[np.zeros(MIN - 1, bool), np.ones(MIN - 1, bool)]
    found = msprt(losses, arms, ALPHA, MDE, MIN)
    assert not found.rejected and found.p_value == 1.0
    assert found.n_champion == found.n_challenger == MIN - 1


def test_the_samples_needed_reach_the_declared_power() -> None:
    """At `rows_needed` rows per arm a true difference of the minimum detectable effect has
    been found in at least `power` of the experiments, and at a quarter of it far fewer."""
    power, runs = 0.8, 200
    needed = rows_needed(2.0, ALPHA, MDE, power)  # two arms of exponential(1) losses
    rng = np.random.default_rng(7)

    def found(rows: int) -> float:
        arms = np.tile([False, True], rows)  # alternating: exactly `rows` per arm
        losses = rng.exponential(1.0, (runs, 2 * rows)) - np.where(arms, MDE, 0.0)
        return float(np.mean([msprt(x, arms, ALPHA, MDE, MIN).rejected for x in losses]))

    assert found(needed) >= power - tolerance(power, runs)
    assert found(needed // 4) < power - tolerance(power, runs)
