"""Checks: one row per (check, feature) with its value, threshold, verdict and severity.

Severity puts the drift table in order: for "higher is worse" statistics it is value/threshold,
for p-values log(p)/log(alpha); both are 1.0 exactly at the threshold.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from mlplat.core.config.ops import MonitoringConfig

MAX_SEVERITY = 1000.0


@dataclass(frozen=True)
class Check:
    group: str  # drift | skew | stability | staleness | performance
    name: str  # psi | ks | chi2 | js | null_rate | unseen | out_of_range | schema | ...
    feature: str  # a feature, "prediction", or "" for model-level checks
    value: float | None  # None: no evidence (reported, never breached)
    threshold: float | None
    breached: bool
    severity: float
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        where = f"{self.name}[{self.feature}]" if self.feature else self.name
        value = "n/a" if self.value is None else f"{self.value:.4g}"
        return f"{self.group}.{where}={value} (limit {self.threshold})"


def limit(cfg: MonitoringConfig, feature: str, key: str) -> float:
    """The threshold for one feature: its override in feature_thresholds, else the global."""
    return float(cfg.feature_thresholds.get(feature, {}).get(key, getattr(cfg, key)))


def above(
    group: str, name: str, feature: str, value: float, threshold: float, note: str = ""
) -> Check:
    """A check that breaches when `value` exceeds `threshold`."""
    severity = value / threshold if threshold > 0 else MAX_SEVERITY if value > 0 else 0.0
    return Check(
        group, name, feature, value, threshold, value > threshold, min(severity, MAX_SEVERITY), note
    )


def below_pvalue(
    group: str, name: str, feature: str, p: float, alpha: float, note: str = ""
) -> Check:
    """A test that breaches when its p-value falls under `alpha`."""
    severity = math.log(max(p, 1e-300)) / math.log(alpha) if 0 < alpha < 1 else 0.0
    return Check(group, name, feature, p, alpha, p < alpha, min(severity, MAX_SEVERITY), note)


def missing(group: str, name: str, note: str, feature: str = "") -> Check:
    return Check(group, name, feature, None, None, False, 0.0, note)
