"""`conf/data/`: where the data comes from and how it is split."""

from __future__ import annotations

from dataclasses import dataclass, field

from omegaconf import MISSING

from mlplat.core.config.bounds import bounded


@dataclass
class SplitConfig:
    strategy: str = "stratified"  # stratified | random | time | group
    test_size: float = bounded(0.2, gt=0, lt=1)
    seed: int = bounded(42, ge=0, le=2**32 - 1)  # numpy and scikit-learn take 0..2**32-1
    cutoff: str | None = None  # time split: rows with timestamp >= cutoff are the holdout
    group_column: str | None = None  # group split: no value of this column on both sides


@dataclass
class DataConfig:
    path: str = MISSING
    format: str = "auto"  # auto | csv | parquet
    target: str = MISSING
    id_column: str | None = None
    timestamp_column: str | None = None
    split: SplitConfig = field(default_factory=SplitConfig)
    # binary targets: the label that is the event (1.0 when encoded, P(positive) when served);
    # None: inferred by the rule in mlplat.core.labels (0/1 -> 1, yes/true/churn/..., else the
    # minority class)
    positive_class: str | None = None
    missing_target: str = "drop"  # drop (counted in the report and the run summary) | fail
