"""The mixture sequential probability ratio test (mSPRT) between two arms' per-row losses.

Johari, Koomen, Pekelis and Walsh, "Always valid inference" (2017/2022): with a normal mixture
N(0, tau^2) over the true difference theta, the likelihood ratio of the observed difference Z
(variance V) against theta = 0 is

    Lambda = sqrt(V / (V + tau^2)) * exp(Z^2 tau^2 / (2 V (V + tau^2)))

a non-negative martingale under the null, so by Ville's inequality P(sup_n Lambda_n >= 1/alpha)
<= alpha however often one looks. Two arms of unequal size: Z is the difference of the arms'
mean losses and V = s_a^2 / n_a + s_b^2 / n_b (plug-in variances, hence the minimum sample
before the test speaks). Inverting the test gives the always-valid confidence sequence
|Z - theta| < sqrt(2 V (V + tau^2) / tau^2 * (log(1/alpha) + log((V + tau^2) / V) / 2)).
tau is set to the declared minimum detectable effect: the test is most powerful near it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def log_mixture_ratio(z: np.ndarray, v: np.ndarray, tau2: float) -> np.ndarray:
    """log Lambda for differences `z` with variances `v` (elementwise)."""
    return 0.5 * np.log(v / (v + tau2)) + z**2 * tau2 / (2 * v * (v + tau2))


def half_width(v: float, tau2: float, alpha: float) -> float:
    """The always-valid interval's half width at variance `v`."""
    return math.sqrt(
        2 * v * (v + tau2) / tau2 * (math.log(1 / alpha) + 0.5 * math.log((v + tau2) / v))
    )


@dataclass(frozen=True)
class Sequential:
    """The test's state after every row seen so far, in arrival order."""

    effect: float  # mean loss of the challenger minus the champion's: below 0, it is better
    low: float  # the always-valid (1 - alpha) interval of the effect
    high: float
    e_value: float  # the largest Lambda so far (a rejection stays one)
    p_value: float  # always valid: min over looks of 1 / Lambda, capped at 1
    n_champion: int
    n_challenger: int
    rejected: bool  # Lambda crossed 1 / alpha at some look with both arms past min_samples


def _prefix_moments(losses: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, ...]:
    """Count, mean and unbiased variance of one arm's losses after every row."""
    x = np.where(mask, losses, 0.0)
    n = np.cumsum(mask)
    total, squares = np.cumsum(x), np.cumsum(x * x)
    safe = np.maximum(n, 1)
    mean = total / safe
    var = np.where(n > 1, (squares - safe * mean**2) / np.maximum(n - 1, 1), np.nan)
    return n, mean, np.maximum(var, 1e-12)


def path(
    losses: np.ndarray, challenger: np.ndarray, tau2: float, min_samples: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log Lambda, the effect and its variance after every row (NaN before both arms have
    `min_samples` rows): the test as continuous monitoring would have seen it."""
    na, ma, va = _prefix_moments(losses, ~challenger)
    nb, mb, vb = _prefix_moments(losses, challenger)
    z = mb - ma
    v = va / np.maximum(na, 1) + vb / np.maximum(nb, 1)
    ready = (na >= min_samples) & (nb >= min_samples)
    return np.where(ready, log_mixture_ratio(z, v, tau2), np.nan), z, v


def msprt(
    losses: np.ndarray,
    challenger: np.ndarray,
    alpha: float,
    min_detectable_effect: float,
    min_samples: int,
) -> Sequential:
    """The test over per-row losses in arrival order; `challenger` marks the challenger's rows."""
    losses = np.asarray(losses, dtype=float)
    challenger = np.asarray(challenger, dtype=bool)
    tau2 = min_detectable_effect**2
    log_lr, z, v = path(losses, challenger, tau2, min_samples)
    n_b = int(challenger.sum())
    n_a = len(losses) - n_b
    looked = log_lr[~np.isnan(log_lr)]
    best = float(looked.max()) if looked.size else 0.0
    effect = float(z[-1]) if len(z) else 0.0
    width = half_width(float(v[-1]), tau2, alpha) if looked.size else math.inf
    return Sequential(
        effect=effect,
        low=effect - width,
        high=effect + width,
        e_value=math.exp(min(best, 700.0)),
        p_value=min(1.0, math.exp(-best)),
        n_champion=n_a,
        n_challenger=n_b,
        rejected=best >= math.log(1 / alpha),
    )


def rows_needed(
    spread: float, alpha: float, min_detectable_effect: float, power: float, most: int = 10**9
) -> int:
    """Rows per arm (equal arms) by which the test has found a true difference of
    `min_detectable_effect` with probability at least `power`; `spread` is the sum of the two
    arms' per-row loss variances. The test rejects at a look when |Z| reaches the interval's
    half width, so the chance that it rejects at the look after n rows, Phi((effect - half
    width) / sqrt(V)) with V = spread / n, bounds the chance it has rejected by then from below:
    the smallest n where that reaches `power` (found by doubling, then bisection)."""
    tau2 = min_detectable_effect**2

    def reached(n: int) -> bool:
        v = max(spread, 1e-12) / n
        z = (min_detectable_effect - half_width(v, tau2, alpha)) / math.sqrt(v)
        return 0.5 * (1 + math.erf(z / math.sqrt(2))) >= power

    high = 2
    while not reached(high) and high < most:
        high *= 2
    low = high // 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if reached(middle) else (middle, high)
    return min(high, most)
