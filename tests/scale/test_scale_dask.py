"""`model.engine: dask`: lightgbm.dask on a 2-worker LocalCluster matches single-process LightGBM.

Data-parallel LightGBM bins each feature from the rows one worker holds, so the trees are not
bit-identical to single-process training; the model must agree within a small tolerance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import mlplat

FAST = [
    "+experiment=churn_baseline",
    "segments=none",
    "registry.register=false",
    "model.num_boost_round=40",
    "model.early_stopping_rounds=null",  # lightgbm.dask has none: compare like with like
    # no bagging: what remains is the distributed learner itself (per-worker bins)
    "model.params.bagging_fraction=1.0",
    "model.params.feature_fraction=1.0",
]


def holdout(root: Path, cfg: Any, booster: Any) -> tuple[Any, Any]:
    import pandas as pd

    from mlplat.core.features import transform
    from mlplat.core.io import read_json
    from mlplat.core.labels import encode_target
    from mlplat.core.stage import ArtifactPaths

    paths = ArtifactPaths.for_config(cfg, root)
    spec = read_json(paths["feature_spec"])
    frame = pd.read_parquet(paths["test_rows"])
    y = encode_target(spec["target"], frame[cfg.data.target])
    return y, booster.predict(transform(spec, frame))


@pytest.mark.slow
def test_dask_engine_on_two_workers_matches_the_local_engine(project: Path) -> None:
    import lightgbm
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from mlplat.core.io import read_json
    from mlplat.core.stage import ArtifactPaths
    from mlplat.pipeline.compose import compose
    from mlplat.stages.train import stage as train

    done = mlplat("run", *FAST, cwd=project)  # the local engine, through the whole pipeline
    assert done.returncode == 0, done.stderr[-3000:]
    cfg = compose(project, [*FAST, "model.engine=dask", "model.dask.n_workers=2"])
    paths = ArtifactPaths.for_config(cfg, project)
    local = lightgbm.Booster(model_file=str(paths["model"]))
    distributed, info = train.train_booster(cfg, read_json(paths["feature_spec"]), paths)
    assert "num_machines: 2" in distributed.model_to_string(), "both workers held data"
    assert info["engine"] == "dask" and info["rows"] == read_json(paths["train_info"])["rows"]
    assert distributed.num_trees() == local.num_trees() == 40
    y, p_local = holdout(project, cfg, local)
    _, p_dask = holdout(project, cfg, distributed)
    # measured here (4000 rows, 40 rounds, 2 runs): |AUC delta| 0.0006-0.0011, r 0.98,
    # mean |p delta| 0.020: data-parallel LightGBM bins each feature from one worker's rows.
    auc_delta = abs(roc_auc_score(y, p_dask) - roc_auc_score(y, p_local))
    assert auc_delta < 0.01
    assert np.corrcoef(p_dask, p_local)[0, 1] > 0.95
    assert np.mean(np.abs(p_dask - p_local)) < 0.04


def test_an_unknown_engine_names_the_key(project: Path) -> None:
    done = mlplat("run", "+experiment=churn_baseline", "model.engine=spark", cwd=project)
    assert done.returncode != 0
    assert "model.engine" in done.stderr + done.stdout and "spark" in done.stderr + done.stdout
