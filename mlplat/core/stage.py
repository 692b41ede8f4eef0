"""A stage is data: what it reads, writes and depends on, and the function that does the work.

The runner executes stages and the DVC compiler renders them; neither knows a stage by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlplat.core.config import PlatformConfig

# artifact key -> path relative to artifacts/<experiment>/ ; "data" is the declared source.
ARTIFACTS = {
    "validation": "validate/report.json",
    "train_rows": "featurize/train.parquet",
    "test_rows": "featurize/test.parquet",
    "feature_spec": "featurize/feature_spec.json",
    "model": "train/model.txt",
    "train_info": "train/train_info.json",
    "predictions": "evaluate/predictions.parquet",
    "metrics": "evaluate/metrics.json",
    "segments": "evaluate/segments.json",
    "plots": "evaluate/plots",
    "report": "evaluate/report.html",
    "bundle": "bundle",
    "run_report": "report.html",  # evaluate's report + gate verdicts, written after the stages
    "registration": "register/run.json",  # the MLflow run and model version of a DVC pipeline
    "cost": "cost.json",  # written by the runner around the stages; a DVC metrics file
}
# Under `dvc repro` each stage is its own process: it writes its cost profile to
# `cost/<stage>.json` (a DVC metrics file), and the `register` stage adds them up into cost.json.
STAGE_COST = "cost/"


def stage_cost(name: str) -> str:
    """The artifact key of one stage's cost profile in a DVC pipeline."""
    return f"{STAGE_COST}{name}"


# Artifacts DVC reads itself: `mlplat compile` declares these keys under `metrics:` (for
# `dvc metrics show/diff`) and `plots:` (for `dvc plots show`) instead of `outs:`.
DVC_METRICS = frozenset({"metrics", "cost"})  # and every stage_cost(...) key
DVC_PLOTS = frozenset({"plots"})
# plots key -> {file stem in that directory: (x field, y field, title)}, so DVC draws each curve
# on its own axes (the same axes as mlplat.stages.evaluate.curves.AXES).
PLOT_AXES: dict[str, dict[str, tuple[str, str, str]]] = {
    "plots": {
        "roc": ("fpr", "tpr", "ROC curve"),
        "pr": ("recall", "precision", "Precision-recall curve"),
        "calibration": ("predicted", "observed", "Calibration"),
    },
}


@dataclass(frozen=True)
class ArtifactPaths:
    root: Path  # artifacts/<experiment>, or a run's or a trial's own directory
    data: Path  # the declared data source
    # Where the last published run's outputs live (artifacts/<experiment>) when `root` is a
    # run's private directory: the reference a new run is checked against is the last model's.
    published: Path | None = None

    @classmethod
    def for_config(cls, cfg: PlatformConfig, project: Path | None = None) -> ArtifactPaths:
        base = project or Path.cwd()
        return cls(root=base / cfg.artifacts_dir / cfg.experiment_name, data=Path(cfg.data.path))

    def __getitem__(self, key: str) -> Path:
        if key == "data":
            return self.data
        if key.startswith(STAGE_COST):
            return self.root / f"{key}.json"
        return self.root / ARTIFACTS[key]

    def last_published(self, key: str) -> Path:
        """`key` as the last published run left it (this run's own before any publication)."""
        return (self.published or self.root) / ARTIFACTS[key]


@dataclass(frozen=True)
class Stage:
    name: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    params: tuple[str, ...]  # config keys it depends on, e.g. "model", "data.split"
    run: Callable[[PlatformConfig, ArtifactPaths], None]
    description: str = ""
