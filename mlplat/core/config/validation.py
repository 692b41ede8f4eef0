"""`conf/segments/` and `conf/gates/`: where a model must be good, and what lets it through."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SegmentConfig:
    column: str | None = None
    equals: Any = None
    isin: list[Any] | None = None
    range: list[float] | None = None  # [low, high)
    bins: list[float] | None = None  # one slice per bin
    each_value: bool = False  # one slice per value of `column`
    cross: list[str] | None = None  # every pair of values of two columns
    min_support: int | None = None


@dataclass
class DiscoveryConfig:
    enabled: bool = True
    quantile_bins: int = 5
    alpha: float = 0.05
    min_support: int = 100


@dataclass
class SegmentsConfig:
    name: str = "default"
    min_support: int = 100
    bootstrap: int = 200
    confidence: float = 0.95
    slices: dict[str, SegmentConfig] = field(default_factory=dict)
    discovery: DiscoveryConfig = field(default_factory=DiscoveryConfig)


@dataclass
class GatesConfig:
    name: str = "default"
    floors: dict[str, float] = field(default_factory=dict)  # metric -> minimum, overall
    segment_floors: dict[str, float] = field(default_factory=dict)
    segment_min_support: int = 200
    champion_metric: str | None = None  # None: no comparison with the champion
    champion_tolerance: float = 0.01
    min_lift: dict[str, float] = field(default_factory=dict)  # baseline -> minimum lift
