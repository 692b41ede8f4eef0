"""Train LightGBM on training rows; early stopping watches a slice of them (the latest under a
time split, else a seeded random one), never the holdout."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from mlplat.core import dataio
from mlplat.core.budget import limit_of
from mlplat.core.errors import BudgetExceededError, ConfigError
from mlplat.core.features import categorical_features, feature_names, transform
from mlplat.core.io import atomic_path, read_json, write_json
from mlplat.core.labels import OBJECTIVES, classes_of, encode_target
from mlplat.core.split import early_stopping_rows
from mlplat.core.vocabulary import BudgetPolicy, Engine, choices

if TYPE_CHECKING:
    import lightgbm

    from mlplat.core.config import PlatformConfig
    from mlplat.core.stage import ArtifactPaths


def lgb_params(cfg: PlatformConfig, spec: dict[str, Any]) -> dict[str, Any]:
    task = cfg.model.task
    if task not in OBJECTIVES:
        raise ConfigError(
            f"unknown task '{task}'; choose one of {', '.join(OBJECTIVES)}", key="model.task"
        )
    params = {"objective": task, "verbosity": -1, "seed": cfg.seed}
    params.update(dict(cfg.model.params))  # an objective that does not fit: refused at composition
    if task == "multiclass":
        params["num_class"] = len(classes_of(spec["target"]))
    return params


class TrainBudget:
    """LightGBM callback enforcing `budget.max_train_seconds` between boosting rounds.

    stop_early ends training gracefully with the best iteration seen so far (by the first
    validation metric, else the latest round); fail raises; warn only records the breach.
    """

    order = 40  # after LightGBM's own early stopping (30)
    before_iteration = False

    def __init__(self, limit: float, policy: str) -> None:
        self.limit, self.policy = limit, policy
        self.started = time.perf_counter()
        self.exceeded_at: int | None = None
        self.elapsed = 0.0
        self._best: tuple[int, list[Any]] = (0, [])

    def _track_best(self, env: Any) -> None:
        results = list(env.evaluation_result_list or [])
        best = self._best[1]
        if not best or not results:
            self._best = (env.iteration, results)
            return
        new, old, higher = results[0][2], best[0][2], results[0][3]
        if (new > old) if higher else (new < old):
            self._best = (env.iteration, results)

    def __call__(self, env: Any) -> None:
        import lightgbm

        self._track_best(env)
        self.elapsed = time.perf_counter() - self.started
        if self.elapsed <= self.limit or self.exceeded_at is not None:
            return
        self.exceeded_at = env.iteration
        if self.policy == BudgetPolicy.FAIL:
            raise BudgetExceededError(
                f"budget max_train_seconds exceeded in stage 'train': {self.elapsed:.4g}s > limit "
                f"{self.limit:.4g}s at boosting round {env.iteration + 1}",
                key="budget.max_train_seconds.limit",
            )
        if self.policy == "stop_early":
            raise lightgbm.callback.EarlyStopException(*self._best)

    def record(self) -> dict[str, Any] | None:
        if self.exceeded_at is None:
            return None
        return {
            "exceeded": "max_train_seconds",
            "policy": self.policy,
            "limit": self.limit,
            "seconds": round(self.elapsed, 4),
            "round": self.exceeded_at + 1,
        }


def train_budget(cfg: PlatformConfig) -> TrainBudget | None:
    limit = limit_of(cfg.budget, "max_train_seconds")
    return None if limit.limit is None else TrainBudget(limit.limit, limit.policy)


def fit(
    cfg: PlatformConfig, spec: dict[str, Any], frame: Any, callbacks: list[Any]
) -> lightgbm.Booster:
    import lightgbm
    import numpy as np

    x = transform(spec, frame)
    y = encode_target(spec["target"], frame[cfg.data.target])
    rounds = cfg.model.early_stopping_rounds
    valid = early_stopping_rows(frame, cfg.data, cfg.seed) if rounds else np.zeros(len(y), bool)
    names, cats = feature_names(spec), categorical_features(spec)
    train_set = lightgbm.Dataset(x[~valid], y[~valid], feature_name=names, categorical_feature=cats)
    valid_sets, all_callbacks = [], list(callbacks)
    if rounds and valid.any():
        valid_sets = [lightgbm.Dataset(x[valid], y[valid], reference=train_set)]
        all_callbacks.append(lightgbm.early_stopping(rounds, verbose=False))
    return lightgbm.train(
        lgb_params(cfg, spec),
        train_set,
        num_boost_round=cfg.model.num_boost_round,
        valid_sets=valid_sets,
        callbacks=all_callbacks,
    )


def train_booster(
    cfg: PlatformConfig, spec: dict[str, Any], paths: ArtifactPaths
) -> tuple[lightgbm.Booster, dict[str, Any]]:
    """The booster from the configured engine, and what train_info.json adds about its run."""
    if cfg.model.engine == Engine.DASK:  # a separate module: Dask is an optional extra
        from mlplat.stages.train import dask_engine

        return dask_engine.train(cfg, spec, lgb_params(cfg, spec), paths["train_rows"])
    if cfg.model.engine != Engine.LOCAL:
        raise ConfigError(
            f"unknown engine '{cfg.model.engine}'; choose one of {choices(Engine)}",
            key="model.engine",
        )

    frame = dataio.read_table(paths["train_rows"])
    budget = train_budget(cfg)
    booster = fit(cfg, spec, frame, callbacks=[budget] if budget else [])
    return booster, {"rows": len(frame), "budget": budget.record() if budget else None}


def run(cfg: PlatformConfig, paths: ArtifactPaths) -> None:
    spec = read_json(paths["feature_spec"])
    started = time.perf_counter()
    booster, info = train_booster(cfg, spec, paths)
    seconds = time.perf_counter() - started
    with atomic_path(paths["model"]) as tmp:
        booster.save_model(str(tmp), num_iteration=booster.best_iteration or None)
    write_json(
        paths["train_info"],
        {
            "best_iteration": int(booster.best_iteration or booster.current_iteration()),
            "num_trees": int(booster.num_trees()),
            "features": feature_names(spec),
            "train_seconds": round(seconds, 4),
            **info,
        },
    )
