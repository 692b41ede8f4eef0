"""Per-feature drift and skew against the reference profile, plus prediction drift."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlplat.core.config.ops import MonitoringConfig
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


def numeric_drift(
    name: str, profile: dict[str, Any], binned: stats.Binned, cfg: MonitoringConfig
) -> FeatureDrift:
    edges = list(profile.get("edges") or [])
    reference = np.asarray(profile.get("counts") or [0], dtype="float64")
    lo, hi = _range(profile)
    n = int(binned.counts.sum()) + binned.nulls
    finite = n - binned.nulls
    d, p = stats.ks(reference, binned.counts)
    checks = [
        above(
            "drift",
            "psi",
            name,
            stats.psi(reference, binned.counts),
            limit(cfg, name, "psi_threshold"),
        ),
        below_pvalue("drift", "ks", name, p, limit(cfg, name, "ks_pvalue"), f"D={d:.4f}"),
        above(
            "skew",
            "null_rate",
            name,
            abs(binned.nulls / n - profile["null_rate"]) if n else 0.0,
            limit(cfg, name, "max_null_rate_delta"),
            f"training {profile['null_rate']:.3f}, now {binned.nulls / n if n else 0:.3f}",
        ),
        above(
            "skew",
            "out_of_range",
            name,
            (binned.below_min + binned.above_max) / finite if finite else 0.0,
            limit(cfg, name, "max_out_of_range_rate"),
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


def categorical_drift(
    name: str, profile: dict[str, Any], binned: stats.Binned, present: int, cfg: MonitoringConfig
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
            "drift", "chi2", name, p, limit(cfg, name, "chi2_pvalue"), f"chi2={statistic:.1f}"
        ),
        above(
            "drift",
            "js",
            name,
            stats.jensen_shannon(reference, counts),
            limit(cfg, name, "js_threshold"),
        ),
        above(
            "skew",
            "null_rate",
            name,
            abs((codeless - unseen) / n - profile["null_rate"]) if n else 0.0,
            limit(cfg, name, "max_null_rate_delta"),
        ),
        above(
            "skew",
            "unseen",
            name,
            unseen / n if n else 0.0,
            limit(cfg, name, "max_unseen_rate"),
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
    profile: dict[str, Any], predictions: np.ndarray, cfg: MonitoringConfig
) -> FeatureDrift:
    values = predictions if predictions.ndim == 1 else predictions.max(axis=1)
    edges, lo, hi = _bins(profile)
    binned = stats.bin_column(values.astype("float64"), edges, lo, hi)
    out = numeric_drift("prediction", profile, binned, cfg)
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
) -> list[FeatureDrift]:
    """Every profiled feature of the spec; `matrix`: the transformed current rows."""
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
            out.append(categorical_drift(names[i], ref, counted, present.get(names[i], 0), cfg))
        else:
            out.append(numeric_drift(names[i], ref, counted, cfg))
    return out
