"""Per-feature drift and skew against the reference profile, plus prediction drift."""

from __future__ import annotations

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
    inner = [f"[{a:.4g}, {b:.4g})" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return [f"< {edges[0]:.4g}", *inner, f">= {edges[-1]:.4g}"]


def numeric_drift(
    name: str, profile: dict[str, Any], values: np.ndarray, cfg: MonitoringConfig
) -> FeatureDrift:
    edges = np.asarray(profile.get("edges") or [], dtype="float64")
    reference = np.asarray(profile.get("counts") or [0], dtype="float64")
    lo = profile.get("min")
    hi = profile.get("max")
    binned = stats.bin_column(
        values, edges, -np.inf if lo is None else lo, np.inf if hi is None else hi
    )
    n, finite = values.size, values.size - binned.nulls
    d, p = stats.ks(reference, binned.counts)
    checks = [
        above("drift", "psi", name, stats.psi(reference, binned.counts),
              limit(cfg, name, "psi_threshold")),
        below_pvalue("drift", "ks", name, p, limit(cfg, name, "ks_pvalue"), f"D={d:.4f}"),
        above("skew", "null_rate", name, abs(binned.nulls / n - profile["null_rate"]) if n else 0.0,
              limit(cfg, name, "max_null_rate_delta"),
              f"training {profile['null_rate']:.3f}, now {binned.nulls / n if n else 0:.3f}"),
        above("skew", "out_of_range", name,
              (binned.below_min + binned.above_max) / finite if finite else 0.0,
              limit(cfg, name, "max_out_of_range_rate"),
              f"{binned.below_min} below {lo}, {binned.above_max} above {hi}"),
        above("stability", "infinite", name, float(binned.infinite), 0.0,
              "infinite feature values"),
    ]
    return FeatureDrift(name, "numeric", bin_labels(edges.tolist()),
                        stats.shares(reference).tolist(), stats.shares(binned.counts).tolist(),
                        checks)


def categorical_drift(
    name: str, profile: dict[str, Any], codes: np.ndarray, present: int, cfg: MonitoringConfig
) -> FeatureDrift:
    """`present`: non-null raw values, so codeless rows split into nulls and unseen values."""
    categories = list(profile["frequencies"])
    reference = np.asarray(list(profile["frequencies"].values()), dtype="float64")
    counts, codeless = stats.count_codes(codes, len(categories))
    n = codes.size
    unseen = max(0, present - int(counts.sum()))
    statistic, p = stats.chi2(reference, counts)
    checks = [
        below_pvalue("drift", "chi2", name, p, limit(cfg, name, "chi2_pvalue"),
                     f"chi2={statistic:.1f}"),
        above("drift", "js", name, stats.jensen_shannon(reference, counts),
              limit(cfg, name, "js_threshold")),
        above("skew", "null_rate", name,
              abs((codeless - unseen) / n - profile["null_rate"]) if n else 0.0,
              limit(cfg, name, "max_null_rate_delta")),
        above("skew", "unseen", name, unseen / n if n else 0.0,
              limit(cfg, name, "max_unseen_rate"), f"{unseen} values not seen in training"),
    ]
    return FeatureDrift(name, "categorical", categories, stats.shares(reference).tolist(),
                        stats.shares(counts).tolist(), checks)


def prediction_drift(
    profile: dict[str, Any], predictions: np.ndarray, cfg: MonitoringConfig
) -> FeatureDrift:
    values = predictions if predictions.ndim == 1 else predictions.max(axis=1)
    out = numeric_drift("prediction", profile, values.astype("float64"), cfg)
    bad = int(values.size - np.isfinite(values).sum())
    out.checks = [c for c in out.checks if c.group == "drift"]
    out.checks.append(above("stability", "nonfinite", "prediction", float(bad), 0.0,
                            "NaN or infinite predictions"))
    return out


def feature_drift(
    spec: dict[str, Any],
    profile: dict[str, Any],
    matrix: np.ndarray,
    present: dict[str, int],
    cfg: MonitoringConfig,
) -> list[FeatureDrift]:
    """Every feature of the spec; `matrix` is the transformed current rows (features as columns)."""
    out = []
    for i, feature in enumerate(spec["features"]):
        name = feature["name"]
        reference = profile["features"].get(name)
        if reference is None:
            continue
        column = np.ascontiguousarray(matrix[:, i])
        if reference["type"] == "categorical":
            out.append(categorical_drift(name, reference, column, present.get(name, 0), cfg))
        else:
            out.append(numeric_drift(name, reference, column, cfg))
    return out
