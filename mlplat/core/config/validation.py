"""`conf/segments/` and `conf/gates/`: where a model must be good, and what lets it through."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
    min_support: int | None = None  # None: segments.min_support


@dataclass
class DiscoveryConfig:
    """The weak-segment scan over single-column slices nobody declared."""

    enabled: bool = True
    quantile_bins: int = 5  # numeric columns with more distinct values are cut into quantile bins
    max_categories: int = 50  # other columns with at most this many values: one slice per value
    alpha: float = 0.05  # false discovery rate over all slices tested (Benjamini-Hochberg)
    min_effect_size: float = 0.2  # Cohen's d of the per-row loss: smaller gaps are not reported
    min_support: int = 100


@dataclass
class SegmentsConfig:
    name: str = "default"
    min_support: int = 100
    bootstrap: int = 200  # resamples per segment for the confidence intervals; 0: none
    confidence: float = 0.95
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
    segment_min_support: int = 200  # segments with less support are reported, not gated
    champion_metric: str | None = None  # None: no comparison with the champion
    champion_tolerance: float = 0.01  # a regression must exceed this AND be significant to block
    min_lift: dict[str, float] = field(default_factory=dict)  # baseline (constant|linear) -> lift
    lift_metric: str | None = None  # None: the task's primary metric (auc, log_loss, rmse)
    # over the better of the constant and linear baselines, on lift_metric; None: not gated
    min_lift_over_best: float | None = 0.0
    # a segment's metric may be worse than overall by at most this fraction of the overall value
    # (0.2: an overall AUC of 0.80 lets no segment fall below 0.64); None: not gated
    segment_max_gap: float | None = 0.2
    segment_gap_metric: str | None = None  # None: the task's primary metric
    fail_exit: bool = True  # a version that fails a gate makes the run exit 1; false: exit 0
