"""`conf/schema/` and `conf/features/`: the data contract and the features declared on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mlplat.core.config.bounds import bounded


class Unseen(StrEnum):
    """What a value outside a column's `isin` does: fail the contract, or pass and be read by
    category features as their `unknown` bucket (see docs/data-contracts.md)."""

    reject = "reject"
    unknown = "unknown"


@dataclass
class StrLengthConfig:
    min: int | None = bounded(None, ge=0)
    max: int | None = bounded(None, ge=0)


@dataclass
class ColumnConfig:
    dtype: str = "str"  # int | float | bool | str | category | datetime
    nullable: bool = False
    required: bool = True
    unique: bool = False
    coerce: bool = False
    regex: bool = False  # the key is a regular expression matching column names
    description: str = ""
    isin: list[Any] | None = None
    unseen: str = Unseen.reject.value  # a value outside `isin`: reject | unknown
    notin: list[Any] | None = None
    ge: Any = None
    gt: Any = None
    le: Any = None
    lt: Any = None
    between: list[Any] | None = None
    str_matches: str | None = None
    str_length: StrLengthConfig | None = None
    # A feed stuck on one value passes every range check; demand some variety instead.
    min_distinct: int | None = bounded(None, ge=1)


@dataclass
class TargetBalanceConfig:
    """Bounds on the share of the positive class (the largest label: 1 for a 0/1 target)."""

    min: float | None = bounded(None, ge=0, le=1)
    max: float | None = bounded(None, ge=0, le=1)


@dataclass
class LearnedConfig:
    """Invariants learned from the training data, checked without being declared
    (docs/data-contracts.md#invariants-learned-from-training)."""

    enabled: bool = True
    confidence: float = 0.99  # an unchanged batch fails any of them with chance at most 1%
    null_rate_margin: float = 0.05  # the null rate may exceed training's by this much
    rare_share: float = 0.01  # a value under this share of training ...
    new_share: float = 0.05  # ... fails when it now takes more than this share
    ignore: list[str] = field(default_factory=list)  # columns exempt (e.g. a batch date)


@dataclass
class SchemaConfig:
    name: str = "default"
    columns: dict[str, ColumnConfig] = field(default_factory=dict)
    strict: bool = False
    ordered: bool = False
    min_rows: int | None = bounded(None, ge=0)
    max_rows: int | None = bounded(None, ge=0)
    unique_together: list[list[str]] = field(default_factory=list)
    target_balance: TargetBalanceConfig | None = None
    learned: LearnedConfig = field(default_factory=LearnedConfig)


@dataclass
class FeatureConfig:
    """One named feature. `kind` picks the transform; the other keys are its arguments."""

    kind: str = "passthrough"
    column: str | None = None
    description: str = ""
    numerator: str | None = None
    denominator: str | None = None
    lower: float | None = None
    upper: float | None = None
    bins: list[float] | None = None
    part: str | None = None  # year | month | day | dayofweek | hour | quarter
    reference_date: str | None = None
    min_frequency: int = bounded(1, ge=1)


@dataclass
class FeaturesConfig:
    name: str = "default"
    definitions: dict[str, FeatureConfig] = field(default_factory=dict)
