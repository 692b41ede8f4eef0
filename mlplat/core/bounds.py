"""How much a statistic may move by chance alone, given how many rows it was computed on.

A rate measured on 263 rows is not the same evidence as one measured on 263,000: a fixed limit
either alerts on noise in small batches or sleeps through real change in large ones. Every
check that compares a rate or a distribution with training therefore uses a limit that is the
declared one *or* what sampling alone can produce at the given significance, whichever is larger.
With `alpha` split over the checks of one family (Bonferroni), an unchanged batch breaches any of
them with probability at most `alpha`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def family_alpha(confidence: float, tests: int) -> float:
    """The significance of each of `tests` checks so that all together keep `confidence`."""
    return (1.0 - confidence) / max(tests, 1)


def rate_limit(allowed: float, n: int, alpha: float) -> float:
    """The highest share of `n` rows that a true rate of `allowed` produces by chance at level
    `alpha`: the binomial (1 - alpha) quantile over n. A share above it is evidence (a one-sided
    binomial test) that the true rate exceeds `allowed`."""
    from scipy.stats import binom

    if n <= 0 or allowed >= 1.0:
        return 1.0
    if allowed <= 0.0:
        return 0.0
    return max(allowed, float(binom.ppf(1.0 - alpha, n, allowed)) / n)


def upper_rate(k: int, n: int, alpha: float) -> float:
    """One-sided Clopper-Pearson upper bound of a rate seen `k` times in `n` rows."""
    import numpy as np

    return float(upper_rates(np.asarray([k]), n, alpha)[0])


def upper_rates(k: np.ndarray, n: int, alpha: float) -> np.ndarray:
    """`upper_rate` of many counts out of the same `n` rows at once."""
    import numpy as np
    from scipy.stats import beta

    k = np.asarray(k, dtype="float64")
    if n <= 0:
        return np.ones_like(k)
    inside = k < n
    out = np.ones_like(k)
    out[inside] = beta.ppf(1.0 - alpha, k[inside] + 1, n - k[inside])
    return out


def outside_range_limit(n: int, m: int, alpha: float) -> float:
    """The highest share of `n` new rows from the training distribution that chance puts
    outside the min..max of `m` training values, at level `alpha`.

    The probability mass outside the range of m exchangeable continuous values is Beta(2, m - 1)
    (mean 2 / (m + 1)), so the count of the n new rows outside it is beta-binomial(n, 2, m - 1).
    The training extremes are themselves random: with 200 training rows one training set's max
    leaves three times the average mass above it one time in twenty, which a plain binomial
    limit would call drift. Ties (integer columns) only lower the true rate.

    scipy's beta-binomial quantile searches its CDF term by term (seconds at a million rows);
    the quantile lies below the union bound of the two stages (the mass at its 1 - alpha/2
    quantile, then the binomial 1 - alpha/2 quantile), so the PMF is summed up to there only."""
    import numpy as np
    from scipy.stats import beta, betabinom, binom

    if n <= 0 or m < 2:
        return 1.0
    mass = float(beta.ppf(1.0 - alpha / 2, 2, m - 1))
    cap = int(min(n, binom.ppf(1.0 - alpha / 2, n, mass)))
    cdf = np.cumsum(betabinom.pmf(np.arange(cap + 1), n, 2, m - 1))
    return min(int(np.searchsorted(cdf, 1.0 - alpha)), cap) / n


def chi2_allowance(dof: int, n: float, m: float, alpha: float) -> float:
    """The (1 - alpha) quantile of chi-square(dof) * (1/n + 1/m): how far PSI, or 8 ln 2 times
    the squared Jensen-Shannon distance, strays between two samples of sizes n and m of one
    distribution (both are asymptotically that chi-square statistic scaled by 1/n + 1/m;
    Yurdakul 2018 for PSI)."""
    from scipy.stats import chi2

    if dof < 1 or n <= 0 or m <= 0:
        return 0.0
    return float(chi2.isf(alpha, dof)) * (1.0 / n + 1.0 / m)


def two_rate_margin(p: float, n: int, m: int, alpha: float) -> float:
    """How far two rates of one pooled rate `p`, measured on n and m rows, differ by chance
    (two-sided normal approximation, level alpha)."""
    from scipy.stats import norm

    if n <= 0 or m <= 0:
        return 0.0
    return float(norm.isf(alpha / 2)) * math.sqrt(max(p * (1 - p), 0.0) * (1.0 / n + 1.0 / m))
