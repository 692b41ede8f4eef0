"""The stage graph: the one list the runner executes and the DVC compiler renders.

The bundle comes before evaluate, which it does not need: `mlplat run` logs the bundle as an
MLflow model while the evaluate stage runs.
"""

from __future__ import annotations

from mlplat.core.stage import Stage
from mlplat.stages.bundle import stage as bundle_stage
from mlplat.stages.evaluate import stage as evaluate
from mlplat.stages.featurize import stage as featurize
from mlplat.stages.train import stage as train
from mlplat.stages.validate import stage as validate

STAGES: tuple[Stage, ...] = (
    Stage(
        "validate",
        ("data",),
        ("validation",),
        ("data", "schema"),
        validate.run,
        "check the data against its declared schema",
    ),
    Stage(
        "featurize",
        ("data", "validation"),
        ("train_rows", "test_rows", "feature_spec"),
        ("data", "features", "model.task"),
        featurize.run,
        "split rows and fit the features",
    ),
    Stage(
        "train",
        ("train_rows", "feature_spec"),
        ("model", "train_info"),
        ("data.target", "model", "seed", "budget"),
        train.run,
        "train LightGBM",
    ),
    Stage(
        "bundle",
        ("model", "feature_spec", "train_rows", "test_rows"),
        ("bundle",),
        ("schema", "registry", "experiment_name"),
        bundle_stage.run,
        "assemble the serving bundle",
    ),
    Stage(
        "evaluate",
        ("model", "feature_spec", "train_rows", "test_rows"),
        ("metrics", "predictions", "segments", "plots", "report"),
        ("data.target", "model.task", "model.threshold", "segments", "seed"),
        evaluate.run,
        "score the holdout, segments and baselines",
    ),
)


def in_order() -> tuple[Stage, ...]:
    return STAGES
