"""`conf/segments/` and `conf/gates/`: where a model must be good, and what lets it through."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlplat.core.config.bounds import bounded


@dataclass
class SegmentConfig:
    """One declared slice; set exactly one of equals, isin, range, bins, each_value or cross."""

    column: str | None = None
    equals: Any = None
    isin: list[Any] | None = None
    range: list[float] | None = None  # [low, high)
    bins: list[float] | None = None  # one slice per bin
    each_value: bool = False  # one slice per value of `column`
    cross: list[str] | None = None  # every pair of values of two columns
    min_support: int | None = bounded(None, ge=1)  # None: segments.min_support


@dataclass
class DiscoveryConfig:
    """The weak-segment scan over single-column slices nobody declared."""

    enabled: bool = True
    # numeric columns with more distinct values are cut into quantile bins
    quantile_bins: int = bounded(5, ge=2)
    # other columns with at most this many values: one slice per value
    max_categories: int = bounded(50, ge=1)
    # false discovery rate over all slices tested (Benjamini-Hochberg)
    alpha: float = bounded(0.05, gt=0, lt=1)
    # Cohen's d of the per-row loss: smaller gaps are not reported
    min_effect_size: float = bounded(0.2, ge=0)
    min_support: int = bounded(100, ge=1)


@dataclass
class SegmentsConfig:
    name: str = "default"
    min_support: int = bounded(100, ge=1)
    # resamples per segment for the confidence intervals; 0: none
    bootstrap: int = bounded(200, ge=0)
    confidence: float = bounded(0.95, gt=0, lt=1)
    slices: dict[str, SegmentConfig] = field(default_factory=dict)
    discovery: DiscoveryConfig = field(default_factory=DiscoveryConfig)


@dataclass
class GatesConfig:
    """What a new version must pass before `champion` moves to it.

    Floors are minimums for higher-is-better metrics and maximums for lower-is-better ones
    (log_loss, brier, ece, rmse, mae). Lifts and segment gaps block only when their bootstrap
    interval is beyond the bound too (below it but within noise is a warning).
    """

    name: str = "default"
    floors: dict[str, float] = field(default_factory=dict)  # metric -> bound, overall
    segment_floors: dict[str, float] = field(default_factory=dict)  # metric -> bound, per segment
    # segments with less support are reported, not gated
    segment_min_support: int = bounded(200, ge=1)
    champion_metric: str | None = None  # None: no comparison with the champion
    # a regression must exceed this AND be significant to block
    champion_tolerance: float = bounded(0.01, ge=0)
    min_lift: dict[str, float] = field(default_factory=dict)  # baseline (constant|linear) -> lift
    lift_metric: str | None = None  # None: the task's primary metric (auc, log_loss, rmse)
    # over the better of the constant and linear baselines, on lift_metric; None: not gated
    min_lift_over_best: float | None = 0.0
    # a segment's metric may be worse than overall by at most this fraction of the overall value
    # (0.2: an overall AUC of 0.80 lets no segment fall below 0.64); None: not gated
    segment_max_gap: float | None = 0.2
    segment_gap_metric: str | None = None  # None: the task's primary metric
    fail_exit: bool = True  # a version that fails a gate makes the run exit 1; false: exit 0
