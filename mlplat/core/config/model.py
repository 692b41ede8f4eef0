"""`conf/model/`: the learner."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ModelConfig:
    algorithm: str = "lgbm"  # short name used in run and registered-model names
    task: str = "binary"  # binary | multiclass | regression
    engine: str = "local"  # local | dask
    num_boost_round: int = 200
    early_stopping_rounds: int | None = 20
    threshold: float = 0.5  # decision threshold for binary precision/recall/F1
    params: dict[str, Any] = field(default_factory=dict)
