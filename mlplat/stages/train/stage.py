"""Train LightGBM on the training rows; early stopping uses a seeded slice of them, never the holdout."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from mlplat.core.errors import ConfigError
from mlplat.core.features import categorical_features, feature_names, transform
from mlplat.core.io import atomic_path, read_json, write_json
from mlplat.core.labels import encode_target

if TYPE_CHECKING:
    import lightgbm

    from mlplat.core.config import PlatformConfig
    from mlplat.core.stage import ArtifactPaths

OBJECTIVES = {"binary": "binary", "multiclass": "multiclass", "regression": "regression"}


def lgb_params(cfg: PlatformConfig, spec: dict[str, Any]) -> dict[str, Any]:
    if cfg.model.task not in OBJECTIVES:
        raise ConfigError(
            f"unknown task '{cfg.model.task}'; choose one of {', '.join(OBJECTIVES)}", key="model.task"
        )
    params = {"objective": OBJECTIVES[cfg.model.task], "verbosity": -1, "seed": cfg.seed}
    params.update(dict(cfg.model.params))
    if cfg.model.task == "multiclass":
        params["num_class"] = len(spec["target"]["classes"])
    return params


def fit(cfg: PlatformConfig, spec: dict[str, Any], frame: Any, callbacks: list[Any]) -> lightgbm.Booster:
    import lightgbm
    import numpy as np

    x = transform(spec, frame)
    y = encode_target(spec["target"], frame[cfg.data.target])
    rng = np.random.default_rng(cfg.seed)
    valid = rng.random(len(y)) < 0.1 if cfg.model.early_stopping_rounds else np.zeros(len(y), bool)
    names, cats = feature_names(spec), categorical_features(spec)
    train_set = lightgbm.Dataset(x[~valid], y[~valid], feature_name=names, categorical_feature=cats)
    valid_sets, all_callbacks = [], list(callbacks)
    if valid.any():
        valid_sets = [lightgbm.Dataset(x[valid], y[valid], reference=train_set)]
        all_callbacks.append(lightgbm.early_stopping(cfg.model.early_stopping_rounds, verbose=False))
    return lightgbm.train(
        lgb_params(cfg, spec), train_set, num_boost_round=cfg.model.num_boost_round,
        valid_sets=valid_sets, callbacks=all_callbacks,
    )


def run(cfg: PlatformConfig, paths: ArtifactPaths) -> None:
    import pandas as pd

    spec = read_json(paths["feature_spec"])
    frame = pd.read_parquet(paths["train_rows"])
    started = time.perf_counter()
    booster = fit(cfg, spec, frame, callbacks=[])
    seconds = time.perf_counter() - started
    with atomic_path(paths["model"]) as tmp:
        booster.save_model(str(tmp), num_iteration=booster.best_iteration or None)
    write_json(paths["train_info"], {
        "best_iteration": int(booster.best_iteration or booster.current_iteration()),
        "num_trees": int(booster.num_trees()),
        "rows": len(frame),
        "features": feature_names(spec),
        "train_seconds": round(seconds, 4),
    })
