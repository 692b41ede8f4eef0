"""Drift statistics against a binned reference, vectorized: one pass per column, no row loops.

The reference profile keeps only quantile-bin counts (not the training rows), so every
statistic is computed on those bins:

- PSI: sum((c - r) * ln(c / r)) over the reference bins, shares floored at EPS so an empty bin
  does not make it infinite (the usual convention).
- KS: the two-sample Kolmogorov-Smirnov statistic evaluated at the reference bin edges, where
  both CDFs are known exactly; it is a lower bound of the full-sample D (so the test is
  conservative), with the asymptotic p-value for sizes n, m.
- chi-square: the 2 x K homogeneity test of reference vs current category counts (both are
  samples, so a goodness-of-fit test against the reference shares would overstate confidence).
- Jensen-Shannon distance, base 2 (0: same, 1: disjoint).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPS = 1e-4


@dataclass(frozen=True)
class Binned:
    """One column of current data counted on the reference bins."""

    counts: np.ndarray  # per reference bin (finite values only)
    nulls: int  # NaN or +-inf
    infinite: int
    below_min: int  # finite values under the training minimum
    above_max: int


def bin_column(values: np.ndarray, edges: np.ndarray, lo: float, hi: float) -> Binned:
    finite = np.isfinite(values)
    kept = values[finite] if not finite.all() else values
    codes = np.searchsorted(edges, kept, side="right")
    counts = np.bincount(codes, minlength=edges.size + 1)
    return Binned(
        counts=counts,
        nulls=int(values.size - kept.size),
        infinite=int(np.isinf(values).sum()) if kept.size != values.size else 0,
        below_min=int(np.count_nonzero(kept < lo)),
        above_max=int(np.count_nonzero(kept > hi)),
    )


def count_codes(values: np.ndarray, categories: int) -> tuple[np.ndarray, int]:
    """Category codes (NaN: null or unseen) -> (counts per category, rows without a code)."""
    known = np.isfinite(values)
    counts = np.bincount(values[known].astype(np.int64), minlength=categories)[:categories]
    return counts, int(values.size - int(known.sum()))


def shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else np.zeros(counts.shape, dtype="float64")


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    r = np.maximum(shares(reference), EPS)
    c = np.maximum(shares(current), EPS)
    return float(np.sum((c - r) * np.log(c / r)))


def ks(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """(D at the bin edges, asymptotic p-value)."""
    from scipy.special import kolmogorov

    n, m = float(reference.sum()), float(current.sum())
    if not n or not m:
        return 0.0, 1.0
    d = float(np.max(np.abs(np.cumsum(reference) / n - np.cumsum(current) / m)))
    return d, float(kolmogorov(np.sqrt(n * m / (n + m)) * d))


def chi2(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """(statistic, p-value) of the 2 x K homogeneity test; categories absent from both drop out."""
    from scipy.stats import chi2 as chi2_dist

    table = np.vstack([reference, current]).astype("float64")
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    return statistic, float(chi2_dist.sf(statistic, table.shape[1] - 1))


def jensen_shannon(reference: np.ndarray, current: np.ndarray) -> float:
    p, q = shares(reference), shares(current)
    if not p.any() or not q.any():
        return 0.0
    mid = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        nz = a > 0
        return float(np.sum(a[nz] * np.log2(a[nz] / mid[nz])))

    return float(np.sqrt(max(0.0, (kl(p) + kl(q)) / 2)))
