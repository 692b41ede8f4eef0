"""Score the holdout with the trained model and write the metrics DVC and MLflow read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlplat.core.features import transform
from mlplat.core.io import atomic_path, read_json, write_json
from mlplat.core.labels import encode_target
from mlplat.stages.evaluate import metrics

if TYPE_CHECKING:
    from mlplat.core.config import PlatformConfig
    from mlplat.core.stage import ArtifactPaths


def run(cfg: PlatformConfig, paths: ArtifactPaths) -> None:
    import lightgbm
    import pandas as pd

    spec = read_json(paths["feature_spec"])
    holdout = pd.read_parquet(paths["test_rows"])
    booster = lightgbm.Booster(model_file=str(paths["model"]))
    scores = booster.predict(transform(spec, holdout))
    y = encode_target(spec["target"], holdout[cfg.data.target])
    overall = metrics.compute(cfg.model.task, y, scores, cfg.model.threshold)
    write_json(paths["metrics"], {"task": cfg.model.task, "rows": len(holdout), "overall": overall})
    predictions = pd.DataFrame({"y_true": y})
    if scores.ndim == 1:
        predictions["y_score"] = scores
    else:
        for k in range(scores.shape[1]):
            predictions[f"y_score_{k}"] = scores[:, k]
    with atomic_path(paths["predictions"]) as tmp:
        predictions.to_parquet(tmp, index=False)
