"""`mlplat init`: a new project's files as data (relative path -> text), and what was inferred.

The declaration is drafted from the data (see `inference` for the contract, `leaks` for the
warnings, `default_segments` for the slices); the operational groups (budget, tracking, serving,
monitoring, online, deploy, retention) are rendered from the typed defaults, so they never drift
from the schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

from mlplat.core import labels
from mlplat.core.metric_names import PRIMARY
from mlplat.core.names import snake
from mlplat.project import default_segments, leaks
from mlplat.project.inference import ColumnPlan, Role

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EXPERIMENT", "Draft", "Summary", "draft", "project_files", "snake", "template"]

EXPERIMENT = "baseline"
OBJECTIVE = {"binary": "binary", "multiclass": "multiclass", "regression": "regression"}
BASELINES = ("constant", "linear")


def domain(name: str) -> str:
    """The registry domain must match `[a-z][a-z0-9]*` (the name pattern's first part)."""
    text = re.sub(r"[^a-z0-9]", "", name.lower())
    return text if re.match(r"[a-z]", text) else "project"


def infer_target(series: pd.Series) -> tuple[str, str | None]:
    """(task, positive class) by the documented rule of `mlplat.core.labels`."""
    task = labels.infer_task(series).value
    return task, labels.target_spec(task, series).get("positive_class")


@dataclass(frozen=True)
class Summary:
    """What init inferred: the table it prints and the object `--json` prints."""

    project: str
    data: str
    rows: int
    target: str
    task: str
    positive_class: str | None
    primary_metric: str
    split: dict[str, Any]
    features: int
    segments: list[str]
    min_support: int
    thin_segments: dict[str, int]  # slice -> holdout rows, below min_support
    baselines: list[str]
    gates: dict[str, Any]
    missing_target: int
    mapped: dict[str, str]  # original column -> derived name, where they differ
    left_out: dict[str, str]  # column -> why it is not a feature
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Draft:
    groups: dict[str, Any]
    summary: Summary


def _check_target(frame: pd.DataFrame, target: str, data_path: str) -> None:
    from mlplat.core.errors import ConfigError

    if target not in frame.columns:
        raise ConfigError(
            f"target column '{target}' is not in the data; columns: "
            f"{', '.join(map(str, frame.columns))}",
            key="--target",
            file=data_path,
        )


def _model(task: str) -> dict[str, Any]:
    return {
        "algorithm": "lgbm",
        "task": task,
        # small trees, learning slowly: on the sample data 31 leaves at 0.1 lost to the linear
        # baseline (AUC -0.018, interval [-0.036, -0.001]); these match it (+0.001)
        "num_boost_round": 300,
        "early_stopping_rounds": 30,
        "params": {
            "objective": OBJECTIVE[task],
            "learning_rate": 0.05,
            "num_leaves": 7,
            "seed": 42,
            "deterministic": True,
            "num_threads": 2,
            "verbosity": -1,
        },
    }


def _gates(task: str) -> dict[str, Any]:
    """Beat the better baseline on the primary metric, keep every measured segment within a gap of
    the overall value, and do not regress significantly against the champion (each judged on its
    interval). Absolute floors are the user's to set."""
    return {
        "name": "default",
        "floors": {},
        "segment_floors": {},
        "segment_min_support": default_segments.MIN_SUPPORT,
        "champion_metric": PRIMARY[task],
        "min_lift_over_best": 0.0,
        "segment_max_gap": 0.2,
    }


def _holdout(frame: pd.DataFrame, data: dict[str, Any], task: str) -> pd.DataFrame:
    """The holdout `mlplat run` will make (rows with a target, split as declared)."""
    from mlplat.core.config.data import DataConfig, SplitConfig
    from mlplat.core.split import split_rows

    labelled = frame[frame[data["target"]].notna()].reset_index(drop=True)
    config = DataConfig(
        path=data["path"],
        target=data["target"],
        timestamp_column=data.get("timestamp_column"),
        split=SplitConfig(**data["split"]),
    )
    return labelled.iloc[split_rows(labelled, config, task)[1]]


def _data(
    frame: pd.DataFrame,
    target: str,
    task: str,
    positive: str | None,
    plans: list[ColumnPlan],
    data_path: str,
) -> dict[str, Any]:
    from mlplat.project import inference

    stamp = inference.timestamp_column(plans)
    ids = [p.name for p in plans if p.role == Role.id]
    data: dict[str, Any] = {
        "path": data_path,
        "format": "auto",
        "target": target,
        "id_column": ids[0] if ids else None,
    }
    if positive is not None:
        data["positive_class"] = positive
    if stamp:
        data["timestamp_column"] = stamp
    data["split"] = inference.split(frame, target, task, stamp)
    return data


def draft(name: str, frame: pd.DataFrame, target: str, data_path: str) -> Draft:
    """The inferred groups (data, schema, features, model, segments, gates, registry) and the
    summary of what was inferred."""
    from mlplat.project import inference

    _check_target(frame, target, data_path)
    plans = inference.plan_columns(frame, target)
    task, positive = infer_target(frame[target])
    used = [p for p in plans if p.role == Role.feature]
    numeric = [p.name for p in used if p.contract["dtype"] in ("int", "float")]
    scored = [p.name for p in used if p.contract["dtype"] != "datetime"]
    found, scores = leaks.find(frame, target, task, scored, numeric)
    leaky = {c for leak in found if len(leak.columns) == 1 for c in leak.columns}
    slices = default_segments.declare(frame, plans, scores, leaky)
    data = _data(frame, target, task, positive, plans, data_path)
    support = default_segments.MIN_SUPPORT
    groups = {
        "data": data,
        "schema": {"name": name, "strict": True, "columns": {p.name: p.contract for p in plans}},
        "features": {
            "name": name,
            "definitions": {p.derived: inference.feature(p) for p in used},
        },
        "model": _model(task),
        "segments": {"name": name, "min_support": support, "bootstrap": 100, "slices": slices},
        "gates": _gates(task),
        "registry": {"domain": domain(name), "name_template": "{domain}-{target}-{algorithm}"},
    }
    summary = Summary(
        project=name,
        data=data_path,
        rows=len(frame),
        target=target,
        task=task,
        positive_class=positive,
        primary_metric=PRIMARY[task],
        split={"timestamp_column": data.get("timestamp_column"), **data["split"]},
        features=len(used),
        segments=list(slices),
        min_support=support,
        thin_segments=dict(default_segments.thin(_holdout(frame, data, task), slices, support)),
        baselines=list(BASELINES),
        gates={
            k: groups["gates"][k]
            for k in ("champion_metric", "min_lift_over_best", "segment_max_gap")
        },
        missing_target=int(frame[target].isna().sum()),
        mapped={p.name: p.derived for p in plans if p.role != Role.target and p.name != p.derived},
        left_out={p.name: p.why for p in plans if p.role not in (Role.feature, Role.target)},
        warnings=[str(leak) for leak in found],
    )
    return Draft(groups, summary)


def typed_defaults() -> dict[str, str]:
    """Operational groups rendered from the dataclass defaults."""
    from omegaconf import OmegaConf

    from mlplat.core.config.deploy import DeployConfig
    from mlplat.core.config.online import OnlineConfig
    from mlplat.core.config.ops import (
        BudgetConfig,
        MonitoringConfig,
        RetentionConfig,
        ServingConfig,
        TrackingConfig,
    )

    groups: dict[str, type] = {
        "budget": BudgetConfig,
        "tracking": TrackingConfig,
        "serving": ServingConfig,
        "monitoring": MonitoringConfig,
        "online": OnlineConfig,
        "deploy": DeployConfig,
        "retention": RetentionConfig,
    }
    return {g: OmegaConf.to_yaml(OmegaConf.structured(cls)) for g, cls in groups.items()}


def template(file: str, **values: Any) -> str:
    import jinja2

    text = resources.files("mlplat").joinpath("templates", "project", file).read_text("utf-8")
    return jinja2.Template(text, keep_trailing_newline=True).render(**values)


def _yaml(tree: dict[str, Any], note: str = "") -> str:
    import yaml

    return note + yaml.safe_dump(tree, sort_keys=False, width=100, allow_unicode=True)


NOTES = {
    "schema": (
        "# Inferred from {data} by `mlplat init`: a draft, review it. Only physical bounds are\n"
        "# declared (ge: 0 for columns that rest on zero); observed ranges live in the bundle's\n"
        "# reference profile, for `mlplat monitor`. unseen: unknown lets a category the data\n"
        "# never had through, to the features' unknown bucket; unseen: reject refuses it.\n"
    ),
    "features": (
        "# Inferred from {data} by `mlplat init`: a draft, review it. Feature names are\n"
        "# snake_case; `column` keeps the data's own name.\n"
    ),
    "gates": (
        "# Lift over both baselines is lift over the better one. Add floors (overall and\n"
        "# per segment) once you know what the model must reach.\n"
    ),
}


def project_files(
    name: str, frame: pd.DataFrame, target: str, data_path: str
) -> tuple[dict[str, str], Summary]:
    """Every file of the new project except the data itself, and the summary."""
    import mlplat

    made = draft(name, frame, target, data_path)
    option = {"model": "lightgbm", "gates": "default", "registry": "default"}
    files = {
        f"conf/{g}/{option.get(g, name)}.yaml": _yaml(tree, NOTES.get(g, "").format(data=data_path))
        for g, tree in made.groups.items()
    }
    files.update({f"conf/{g}/default.yaml": text for g, text in typed_defaults().items()})
    values = {
        "name": name,
        "experiment": EXPERIMENT,
        "data": data_path,
        "version": mlplat.__version__,
        "target": target,
    }
    files.update(
        {
            "conf/config.yaml": template("config.yaml.j2", **values),
            "conf/pipeline.yaml": template("pipeline.yaml.j2", **values),
            "conf/card/default.yaml": template("card.yaml.j2", **values),
            "conf/notify/default.yaml": template("notify.yaml.j2", **values),
            f"conf/experiment/{EXPERIMENT}.yaml": template("experiment.yaml.j2", **values),
            "Makefile": template("Makefile.j2", **values),
            ".github/workflows/ci.yml": template("ci.yml.j2", **values),
            ".pre-commit-config.yaml": template("pre-commit-config.yaml.j2", **values),
            ".gitignore": template("gitignore.j2", **values),
            "README.md": template("README.md.j2", **values),
        }
    )
    return files, made.summary
