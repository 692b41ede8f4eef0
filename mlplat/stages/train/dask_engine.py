"""`model.engine: dask`: the same LightGBM model, trained by `lightgbm.dask` on a Dask cluster.

LightGBM's own data-parallel learner does the distributed work: every Dask worker holding
partitions of the training rows becomes a LightGBM machine, builds histograms on its rows, and
LightGBM's network syncs them. Dask only places the partitions and starts the workers. The
driver never loads the training table: each partition is read and featurized on a worker.

Two things differ from the local engine, both on purpose:
- no early stopping: lightgbm.dask does not support it (workers can hang when one stops,
  LightGBM issues #4189, #6351), so the model trains exactly `num_boost_round` rounds on every
  training row and `train_info.json` says early stopping was not applied;
- `budget.max_train_seconds` is checked once training returns (a callback raising inside one
  worker would break the others' sockets), so `stop_early` acts like `warn`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core.budget import limit_of
from mlplat.core.errors import BudgetExceededError, ConfigError
from mlplat.core.features import categorical_features, feature_names, transform
from mlplat.core.labels import encode_target
from mlplat.core.vocabulary import BudgetPolicy

if TYPE_CHECKING:
    import lightgbm
    import pandas as pd
    from distributed import Client

    from mlplat.core.config import PlatformConfig
    from mlplat.core.config.model import DaskConfig

# Set per worker by lightgbm.dask (it warns and drops them): never pass them through.
WORKER_PARAMS = ("num_threads", "num_thread", "nthread", "nthreads", "n_jobs", "num_machines")


@contextmanager
def client(cfg: DaskConfig) -> Iterator[Client]:
    """A client of the configured scheduler, else of a LocalCluster that lives for this block."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise ConfigError(
            "model.engine=dask needs Dask: pip install 'mlplat[dask]'", key="model.engine"
        ) from exc
    if cfg.address:
        with Client(cfg.address) as remote:
            yield remote
        return
    with (
        LocalCluster(
            n_workers=cfg.n_workers,
            threads_per_worker=cfg.threads_per_worker,
            processes=cfg.processes,
            protocol="tcp://",  # LightGBM's sockets need host addresses, not inproc://
            host="127.0.0.1",
            dashboard_address=None,  # no web UI port on a shared machine
        ) as cluster,
        Client(cluster) as local,
    ):
        yield local


LABEL = "_mlplat_label"


def _featurize(part: pd.DataFrame, spec: dict[str, Any], target: str) -> pd.DataFrame:
    """One partition of raw rows -> its feature matrix and encoded label, on a worker."""
    import pandas as pd

    out = pd.DataFrame(transform(spec, part), columns=feature_names(spec), index=part.index)
    out[LABEL] = encode_target(spec["target"], part[target])
    return out


def partitions(
    cfg: PlatformConfig, spec: dict[str, Any], path: Path, dask_client: Client
) -> tuple[Any, Any]:
    """(features, labels) as Dask collections, read and featurized partition by partition.

    The partitions go round-robin to the workers: the scheduler would leave small ones on one
    worker, and LightGBM trains only on the workers that hold data.
    """
    import dask.dataframe as dd
    import pandas as pd

    workers = list(dask_client.scheduler_info()["workers"])
    frame = dd.read_parquet(str(path))
    wanted = cfg.model.dask.partitions or len(workers)
    if frame.npartitions < wanted:
        frame = frame.repartition(npartitions=wanted)
    columns = [*feature_names(spec), LABEL]
    meta = pd.DataFrame({name: pd.Series(dtype="float64") for name in columns})
    parts = frame.map_partitions(_featurize, spec, cfg.data.target, meta=meta).to_delayed()
    placed = [
        dask_client.compute(part, workers=[workers[i % len(workers)]])
        for i, part in enumerate(parts)
    ]
    table = dd.from_delayed(placed, meta=meta)
    return table[columns[:-1]], table[LABEL]


def estimator(cfg: PlatformConfig, params: dict[str, Any], dask_client: Client) -> Any:
    import lightgbm.dask

    params = {k: v for k, v in params.items() if k not in WORKER_PARAMS}
    # Only the saved booster matters, and the objective comes from `params`. Multiclass goes
    # through the regressor wrapper on purpose: the classifier would count classes from each
    # worker's own rows, while `num_class` from the feature spec is the same everywhere.
    factory: Any = lightgbm.dask.DaskLGBMRegressor
    if cfg.model.task == "binary":
        factory = lightgbm.dask.DaskLGBMClassifier
    return factory(client=dask_client, n_estimators=cfg.model.num_boost_round, **params)


def fit(
    cfg: PlatformConfig, spec: dict[str, Any], params: dict[str, Any], path: Path
) -> tuple[lightgbm.Booster, int]:
    """Train on the cluster; returns the booster and the number of training rows."""
    with client(cfg.model.dask) as dask_client:
        x, y = partitions(cfg, spec, path, dask_client)
        rows = len(y)
        model = estimator(cfg, params, dask_client)
        model.fit(x, y, categorical_feature=categorical_features(spec))
        return model.booster_, rows


def budget_record(cfg: PlatformConfig, seconds: float, rounds: int) -> dict[str, Any] | None:
    """`max_train_seconds` after the fact: fail raises, warn and stop_early record the breach."""
    limit = limit_of(cfg.budget, "max_train_seconds")
    if limit.limit is None or seconds <= limit.limit:
        return None
    if limit.policy == BudgetPolicy.FAIL:
        raise BudgetExceededError(
            f"budget max_train_seconds exceeded in stage 'train' (engine dask): {seconds:.4g}s > "
            f"limit {limit.limit:.4g}s",
            key="budget.max_train_seconds.limit",
        )
    return {
        "exceeded": "max_train_seconds",
        "policy": limit.policy,
        "limit": limit.limit,
        "seconds": round(seconds, 4),
        "round": rounds,
    }


def train(
    cfg: PlatformConfig, spec: dict[str, Any], params: dict[str, Any], path: Path
) -> tuple[lightgbm.Booster, dict[str, Any]]:
    """The booster and what train_info.json records about a Dask run."""
    started = time.perf_counter()
    booster, rows = fit(cfg, spec, params, path)
    seconds = time.perf_counter() - started
    rounds = int(booster.current_iteration())
    return booster, {
        "rows": rows,
        "engine": "dask",
        "early_stopping": "not applied: lightgbm.dask has no early stopping",
        "budget": budget_record(cfg, seconds, rounds),
    }
