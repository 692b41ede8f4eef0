"""`conf/model/`: the learner."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlplat.core.config.bounds import bounded


@dataclass
class DaskConfig:
    """`engine: dask`: the cluster lightgbm.dask trains on."""

    address: str | None = None  # scheduler, e.g. tcp://10.0.0.5:8786; None: a LocalCluster
    n_workers: int = bounded(2, ge=1)  # LocalCluster only
    threads_per_worker: int = bounded(1, ge=1)  # LocalCluster only
    processes: bool = False  # LocalCluster only: False keeps the workers in threads of this process
    partitions: int | None = bounded(None, ge=1)  # training data partitions; None: one per worker


@dataclass
class ModelConfig:
    algorithm: str = "lgbm"  # short name used in run and registered-model names
    task: str = "binary"  # binary | multiclass | regression
    engine: str = "local"  # local | dask
    num_boost_round: int = bounded(200, ge=1)
    early_stopping_rounds: int | None = bounded(20, ge=0)  # 0 or None: off
    threshold: float = bounded(0.5, gt=0, lt=1)  # decision threshold for binary precision/recall/F1
    params: dict[str, Any] = field(default_factory=dict)
    dask: DaskConfig = field(default_factory=DaskConfig)
