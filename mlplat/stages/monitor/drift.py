"""Per-feature drift and skew against the reference profile, plus prediction drift."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlplat.core import bounds
from mlplat.core.config.ops import MonitoringConfig
from mlplat.core.vocabulary import DriftTest
from mlplat.stages.monitor import stats
from mlplat.stages.monitor.checks import Check, above, below_pvalue, limit


@dataclass
class FeatureDrift:
    """A feature's checks and its two distributions (shares per bin) for the report."""

    name: str
    kind: str  # numeric | categorical
    labels: list[str]
    reference: list[float]
    current: list[float]
    checks: list[Check] = field(default_factory=list)

    @property
    def severity(self) -> float:
        return max((c.severity for c in self.checks), default=0.0)


def bin_labels(edges: list[float]) -> list[str]:
    if not edges:
        return ["all"]
    inner = [f"[{a:.4g}, {b:.4g})" for a, b in itertools.pairwise(edges)]
    return [f"< {edges[0]:.4g}", *inner, f">= {edges[-1]:.4g}"]


def _range(profile: dict[str, Any]) -> tuple[float, float]:
    lo, hi = profile.get("min"), profile.get("max")
    return (-np.inf if lo is None else float(lo)), (np.inf if hi is None else float(hi))


def _raised(configured: float, used: float, rows: str) -> str:
    """Says when sampling raised a declared limit, so the table's limit is never a surprise."""
    return f"limit {configured:.4g} raised to {used:.4g} for {rows}" if used > configured else ""


def _psi(
    name: str, reference: np.ndarray, counts: np.ndarray, cfg: MonitoringConfig, alpha: float
) -> Check:
    configured = limit(cfg, name, DriftTest.PSI.limit_key)
    n, m = float(counts.sum()), float(reference.sum())
    used = max(configured, bounds.chi2_allowance(len(reference) - 1, n, m, alpha))
    note = _raised(configured, used, f"{n:.0f} vs {m:.0f} training rows")
    return above("drift", DriftTest.PSI, name, stats.psi(reference, counts), used, note)


def _null_rate(
    name: str, nulls: int, n: int, profile: dict[str, Any], cfg: MonitoringConfig, alpha: float
) -> Check:
    """|null rate now - in training|, against the declared delta plus what chance allows."""
    trained, m = float(profile["null_rate"]), int(profile.get("count") or 0)
    now = nulls / n if n else 0.0
    pooled = (nulls + trained * m) / (n + m) if n + m else 0.0
    configured = limit(cfg, name, "max_null_rate_delta")
    used = configured + bounds.two_rate_margin(pooled, n, m, alpha)
    note = f"training {trained:.3f}, now {now:.3f}; " + (
        _raised(configured, used, f"{n} rows") or f"limit {used:.4g}"
    )
    return above("skew", "null_rate", name, abs(now - trained), used, note)


def _rate(
    name: str,
    check: str,
    counted: tuple[int, int],
    chance: float,
    cfg: MonitoringConfig,
    alpha: float,
    note: str,
) -> Check:
    """A share of rows (`counted`: count, rows) that should stay under its declared limit: it
    breaches only when the count is more than both that limit and `chance` (the share that an
    unchanged batch of this size reaches at level alpha) allow."""
    count, n = counted
    configured = limit(cfg, name, f"max_{check}_rate")
    used = max(bounds.rate_limit(configured, n, alpha), chance)
    extra = _raised(configured, used, f"{n} rows")
    value = count / n if n else 0.0
    return above("skew", check, name, value, used, "; ".join(filter(None, [note, extra])))


def numeric_drift(
    name: str, profile: dict[str, Any], binned: stats.Binned, cfg: MonitoringConfig, alpha: float
) -> FeatureDrift:
    """`alpha`: the significance of each sampling allowance (bounds.family_alpha)."""
    edges = list(profile.get("edges") or [])
    reference = np.asarray(profile.get("counts") or [0], dtype="float64")
    lo, hi = _range(profile)
    n = int(binned.counts.sum()) + binned.nulls
    finite = n - binned.nulls
    d, p = stats.ks(reference, binned.counts)
    outside = binned.below_min + binned.above_max
    checks = [
        _psi(name, reference, binned.counts, cfg, alpha),
        below_pvalue(
            "drift", DriftTest.KS, name, p, limit(cfg, name, DriftTest.KS.limit_key), f"D={d:.4f}"
        ),
        _null_rate(name, binned.nulls, n, profile, cfg, alpha),
        _rate(
            name,
            "out_of_range",
            (outside, finite),
            bounds.outside_range_limit(finite, int(reference.sum()), alpha),
            cfg,
            alpha,
            f"{binned.below_min} below {lo:.4g}, {binned.above_max} above {hi:.4g}",
        ),
        above(
            "stability", "infinite", name, float(binned.infinite), 0.0, "infinite feature values"
        ),
    ]
    return FeatureDrift(
        name,
        "numeric",
        bin_labels(edges),
        stats.shares(reference).tolist(),
        stats.shares(binned.counts).tolist(),
        checks,
    )


def _js(
    name: str, reference: np.ndarray, counts: np.ndarray, cfg: MonitoringConfig, alpha: float
) -> Check:
    configured = limit(cfg, name, DriftTest.JS.limit_key)
    n, m = float(counts.sum()), float(reference.sum())
    seen = int(np.count_nonzero(reference + counts))
    chance = bounds.chi2_allowance(seen - 1, n, m, alpha) / (8.0 * math.log(2.0))
    used = max(configured, math.sqrt(chance))
    note = _raised(configured, used, f"{n:.0f} vs {m:.0f} training rows")
    return above("drift", DriftTest.JS, name, stats.jensen_shannon(reference, counts), used, note)


def good_turing(frequencies: dict[str, int]) -> float:
    """The share of new rows expected to hold a category training never saw: the share of
    training rows whose category was seen exactly once (Good-Turing)."""
    total = sum(frequencies.values())
    return sum(1 for c in frequencies.values() if c == 1) / total if total else 0.0


def categorical_drift(
    name: str,
    profile: dict[str, Any],
    binned: stats.Binned,
    present: int,
    cfg: MonitoringConfig,
    alpha: float,
) -> FeatureDrift:
    """`present`: non-null raw values, so codeless rows split into nulls and unseen values."""
    categories = list(profile["frequencies"])
    reference = np.asarray(list(profile["frequencies"].values()), dtype="float64")
    # Unseen values are NaN in older specs; newer ones give them the `unknown` bucket's code, one
    # past the last category, which the open-ended last bin counted: it is no category's count.
    counts = binned.counts.copy()
    counts[-1] -= binned.above_max
    codeless = binned.nulls + binned.above_max  # nulls and unseen values
    n = int(counts.sum()) + codeless
    unseen = max(0, present - int(counts.sum()))
    statistic, p = stats.chi2(reference, counts)
    checks = [
        below_pvalue(
            "drift",
            DriftTest.CHI2,
            name,
            p,
            limit(cfg, name, DriftTest.CHI2.limit_key),
            f"chi2={statistic:.1f}",
        ),
        _js(name, reference, counts, cfg, alpha),
        _null_rate(name, codeless - unseen, n, profile, cfg, alpha),
        _rate(
            name,
            "unseen",
            (unseen, n),
            bounds.rate_limit(good_turing(profile["frequencies"]), n, alpha),
            cfg,
            alpha,
            f"{unseen} values not seen in training",
        ),
    ]
    return FeatureDrift(
        name,
        "categorical",
        categories,
        stats.shares(reference).tolist(),
        stats.shares(counts).tolist(),
        checks,
    )


def _bins(profile: dict[str, Any]) -> tuple[np.ndarray, float, float]:
    """Categorical codes 0..K-1 are binned at the half-integers, so one routine counts both."""
    if profile["type"] == "categorical":
        k = len(profile["frequencies"])
        return np.arange(1, k, dtype="float64") - 0.5, 0.0, float(max(k - 1, 0))
    return np.asarray(profile.get("edges") or [], dtype="float64"), *_range(profile)


def prediction_drift(
    profile: dict[str, Any], predictions: np.ndarray, cfg: MonitoringConfig, alpha: float
) -> FeatureDrift:
    values = predictions if predictions.ndim == 1 else predictions.max(axis=1)
    edges, lo, hi = _bins(profile)
    binned = stats.bin_column(values.astype("float64"), edges, lo, hi)
    out = numeric_drift("prediction", profile, binned, cfg, alpha)
    out.checks = [c for c in out.checks if c.group == "drift"]
    out.checks.append(
        above(
            "stability",
            "nonfinite",
            "prediction",
            float(binned.nulls),
            0.0,
            "NaN or infinite predictions",
        )
    )
    return out


def feature_drift(
    spec: dict[str, Any],
    profile: dict[str, Any],
    matrix: np.ndarray,
    present: dict[str, int],
    cfg: MonitoringConfig,
    alpha: float,
) -> list[FeatureDrift]:
    """Every profiled feature of the spec; `matrix`: the transformed current rows; `alpha`: the
    significance of each sampling allowance."""
    names = [f["name"] for f in spec["features"]]
    kept = [i for i, name in enumerate(names) if name in profile["features"]]
    refs = [profile["features"][names[i]] for i in kept]
    bins = [_bins(r) for r in refs]
    binned = stats.bin_matrix(
        matrix[:, kept] if len(kept) < len(names) else matrix,
        [b[0] for b in bins],
        [b[1] for b in bins],
        [b[2] for b in bins],
    )
    out = []
    for i, ref, counted in zip(kept, refs, binned, strict=True):
        if ref["type"] == "categorical":
            seen = present.get(names[i], 0)
            out.append(categorical_drift(names[i], ref, counted, seen, cfg, alpha))
        else:
            out.append(numeric_drift(names[i], ref, counted, cfg, alpha))
    return out
