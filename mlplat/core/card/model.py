"""The typed model card: one object, three renderings (Markdown, Model Card Toolkit JSON, HTML).

Sections follow "Model Cards for Model Reporting" (Mitchell et al. 2019): details, intended
use, training and evaluation data, quantitative analyses (overall and per segment), caveats, plus
what mlplat adds: cost, the serving profile and the ML Test Score at registration.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Details:
    name: str
    version: str
    uri: str  # models:/NAME/VERSION
    created: str  # ISO date-time of the registration
    run_id: str
    git_sha: str
    config_hash: str
    data_md5: str
    mlplat_version: str
    lightgbm_version: str
    task: str
    target: str
    experiment: str
    owners: tuple[str, ...]
    license: str
    overview: str
    draft: bool  # the declared text is still `mlplat init`'s draft


@dataclass(frozen=True)
class Use:
    intended: tuple[str, ...]
    users: tuple[str, ...]
    out_of_scope: tuple[str, ...]


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str
    nullable: bool


@dataclass(frozen=True)
class Data:
    source: str
    rows: int | None  # rows read and validated
    train_rows: int | None
    test_rows: int | None
    split: str  # "stratified, test_size 0.2, seed 42"
    timestamp_column: str | None
    schema: str
    columns: tuple[Column, ...]
    features: tuple[str, ...]
    # first and last date of `timestamp_column` in the training rows and the holdout
    training_period: tuple[str, str] | None = None
    holdout_period: tuple[str, str] | None = None


@dataclass(frozen=True)
class Metric:
    name: str
    value: float
    low: float | None = None  # the interval mlplat measured (bootstrap), when it did
    high: float | None = None


@dataclass(frozen=True)
class Slice:
    segment: str  # the declared name, e.g. plan.basic
    where: str  # the rows, e.g. "plan == basic"
    support: int
    metrics: tuple[Metric, ...]  # empty when support was below the floor: not measured


@dataclass(frozen=True)
class Gate:
    gate: str
    scope: str
    metric: str
    status: str  # pass | fail | warn | skip
    detail: str


@dataclass(frozen=True)
class Baseline:
    name: str
    value: float  # the primary metric of the baseline
    lift: float | None
    lift_low: float | None
    lift_high: float | None


@dataclass(frozen=True)
class Analysis:
    primary_metric: str
    overall: tuple[Metric, ...]
    slices: tuple[Slice, ...]
    gates: tuple[Gate, ...]
    passed: bool | None  # None: no verdict recorded
    failed: tuple[str, ...]
    champion_version: str | None  # the champion the version was judged against
    baselines: tuple[Baseline, ...]


@dataclass(frozen=True)
class WeakSlice:
    segment: str
    where: str
    support: int
    effect_size: float
    p_adjusted: float


@dataclass(frozen=True)
class Caveats:
    weak_slices: tuple[WeakSlice, ...]  # found by discovery, nobody declared them
    below_floor: tuple[str, ...]  # segments that failed their floor or gap gate
    unmeasured: tuple[str, ...]  # evaluation warnings: segments too small to measure, ...
    drift: str | None  # the last monitor verdict before registration
    limitations: tuple[str, ...]  # declared
    ethical: tuple[str, ...]  # declared


@dataclass(frozen=True)
class Cost:
    currency: str
    training: float | None  # money for the whole run
    wall_seconds: float | None
    peak_rss_mb: float | None
    serving: str | None  # the deployment profile's recommendation, when one was logged


@dataclass(frozen=True)
class Plot:
    name: str  # roc, pr, calibration, segments, importance
    png: bytes


@dataclass(frozen=True)
class Card:
    details: Details
    use: Use
    data: Data
    analysis: Analysis
    caveats: Caveats
    cost: Cost
    test_score: str | None  # "7.5 (band ...)" at registration, when one was logged
    plots: tuple[Plot, ...]

    def metric(self, name: str) -> Metric | None:
        return next((m for m in self.analysis.overall if m.name == name), None)
