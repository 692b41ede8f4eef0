"""The target: task inference, the positive-class rule and its override, encoding, missing targets,
and the objective that must fit the task. Data from scikit-learn's bundled sets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine

from mlplat.core import labels
from mlplat.core.config import PlatformConfig
from mlplat.core.config.contract import FeatureConfig, FeaturesConfig
from mlplat.core.config.data import DataConfig
from mlplat.core.config.model import ModelConfig
from mlplat.core.config.validation import SegmentsConfig
from mlplat.core.errors import ConfigError, DataValidationError
from mlplat.core.io import read_json
from mlplat.core.stage import ArtifactPaths
from mlplat.pipeline import graph
from mlplat.project import scaffold


def _cancer(mapping: dict[int, Any]) -> pd.Series:
    """Breast cancer's target (0 malignant, 212 rows; 1 benign, 357) mapped to other labels."""
    target = load_breast_cancer(as_frame=True).frame["target"]
    return target.map(mapping).rename("diagnosis")


def _named(loader: Any, column: str) -> pd.Series:
    bunch = loader(as_frame=True)
    return bunch.frame["target"].map(dict(enumerate(bunch.target_names))).rename(column)


TARGETS = [
    pytest.param(_cancer({0: "Yes", 1: "No"}), "binary", "Yes", id="yes-no-strings"),
    pytest.param(_cancer({0: "yes", 1: "no"}), "binary", "yes", id="lower-case"),
    pytest.param(_cancer({0: True, 1: False}), "binary", "True", id="bools"),
    pytest.param(_cancer({0: 1, 1: 0}), "binary", "1", id="zero-one"),
    pytest.param(_cancer({0: 1.0, 1: 0.0}), "binary", "1", id="zero-one-floats"),
    pytest.param(_cancer({0: 1, 1: 2}), "binary", "1", id="one-two-minority"),
    pytest.param(_cancer({0: 2, 1: 1}), "binary", "2", id="two-one-minority"),
    pytest.param(_cancer({0: "MM", 1: "CH"}), "binary", "MM", id="no-name-minority"),
    pytest.param(_cancer({0: "Malignant", 1: "Benign"}), "binary", "Malignant", id="names"),
    pytest.param(_cancer({0: "leave", 1: "stay_no"}), "binary", "leave", id="minority"),
    pytest.param(_named(load_iris, "species"), "multiclass", None, id="iris-strings"),
    pytest.param(_named(load_wine, "cultivar"), "multiclass", None, id="wine-strings"),
    pytest.param(
        load_diabetes(as_frame=True).frame["target"].rename("progression"),
        "regression",
        None,
        id="diabetes",
    ),
]


@pytest.mark.parametrize(("values", "task", "positive"), TARGETS)
def test_task_and_positive_class_are_inferred(
    values: pd.Series, task: str, positive: str | None
) -> None:
    assert labels.infer_task(values) == task
    spec = labels.target_spec(task, values)
    assert spec.get("positive_class") == positive
    if task == "binary":
        assert spec["classes"][1] == positive and len(spec["classes"]) == 2
        y = labels.encode_target(spec, values)
        assert set(np.unique(y)) == {0.0, 1.0}
        assert (y == 1.0).sum() == sum(labels.label_text(v) == positive for v in values)


@pytest.mark.parametrize(("values", "task", "positive"), TARGETS)
def test_init_writes_the_task_and_positive_class(
    values: pd.Series, task: str, positive: str | None
) -> None:
    """`mlplat init` infers with the same function and writes `data.positive_class`."""
    frame = pd.DataFrame({"x": np.arange(len(values)), values.name: values})
    groups = scaffold.draft("demo", frame, str(values.name), "data/demo.csv").groups
    assert groups["model"]["task"] == task
    assert groups["model"]["params"]["objective"] == task
    assert groups["data"].get("positive_class") == positive


def test_multiclass_keeps_the_original_labels_in_encoded_order() -> None:
    values = _named(load_wine, "cultivar")
    spec = labels.target_spec("multiclass", values)
    assert spec["classes"] == ["class_0", "class_1", "class_2"]
    y = labels.encode_target(spec, values)
    assert [spec["classes"][int(k)] for k in y[:3]] == list(values[:3])


def test_numeric_classes_sort_as_numbers() -> None:
    values = pd.Series([10, 2, 3, 2, 10, 3, 1], name="grade")
    spec = labels.target_spec("multiclass", values)
    assert spec["classes"] == ["1", "2", "3", "10"]
    assert labels.encode_target(spec, values).tolist() == [3.0, 1.0, 2.0, 1.0, 3.0, 2.0, 0.0]


@pytest.mark.parametrize(
    ("declared", "positive"),
    [
        pytest.param("No", "No", id="exact"),
        pytest.param("no", "No", id="case-insensitive"),
    ],
)
def test_a_declared_positive_class_wins(declared: str, positive: str) -> None:
    values = _cancer({0: "Yes", 1: "No"})
    spec = labels.target_spec("binary", values, declared)
    assert spec["positive_class"] == positive and spec["classes"] == ["Yes", "No"]
    assert labels.encode_target(spec, values).sum() == 357  # the benign rows are now 1.0


@pytest.mark.parametrize(
    ("task", "values", "declared", "key"),
    [
        pytest.param("binary", _cancer({0: "Yes", 1: "No"}), "Maybe", "data.positive_class"),
        pytest.param("multiclass", _named(load_iris, "species"), "setosa", "data.positive_class"),
        pytest.param("binary", _named(load_iris, "species"), None, "model.task"),
        pytest.param("regression", _cancer({0: "Yes", 1: "No"}), None, "model.task"),
        pytest.param("binary", pd.Series(["Yes"] * 5, name="t"), None, "data.target"),
    ],
)
def test_a_declaration_the_target_cannot_meet_names_its_key(
    task: str, values: pd.Series, declared: str | None, key: str
) -> None:
    with pytest.raises(ConfigError) as err:
        labels.target_spec(task, values, declared)
    assert err.value.key == key and err.value.exit_code == 2
    if key == "data.positive_class" and task == "binary":
        assert "'Maybe' is not a label of target 'diagnosis'" in str(err.value)
        assert "'No'" in str(err.value) and "'Yes'" in str(err.value)


def test_a_binary_spec_from_before_labels_were_kept_means_zero_one() -> None:
    old = {"column": "churn", "task": "binary"}
    values = pd.Series([0, 1, 1, 0], name="churn")
    assert labels.encode_target(old, values).tolist() == [0.0, 1.0, 1.0, 0.0]
    assert labels.normalized(old) == labels.target_spec("binary", values)


def test_rows_without_a_target_are_dropped_and_counted() -> None:
    frame = pd.DataFrame({"x": range(6), "y": ["Yes", None, "No", np.nan, "No", "Yes"]})
    kept, dropped = labels.drop_missing(frame, "y", "drop")
    assert dropped == 2 and kept["x"].tolist() == [0, 2, 4, 5]
    with pytest.raises(DataValidationError) as err:
        labels.drop_missing(frame, "y", "fail")
    assert err.value.key == "data.missing_target" and err.value.exit_code == 1
    assert "2 row(s) have no value in target 'y'" in str(err.value) and "2, 4" in str(err.value)
    with pytest.raises(ConfigError) as bad:
        labels.drop_missing(frame, "y", "keep")
    assert bad.value.key == "data.missing_target"


@pytest.mark.parametrize(
    ("task", "params", "key"),
    [
        pytest.param("binary", {"objective": "regression"}, "model.params.objective", id="obj"),
        pytest.param("regression", {"application": "binary"}, "model.params.application"),
        pytest.param("multiclass", {"loss": "xentropy"}, "model.params.loss", id="alias"),
    ],
)
def test_an_objective_that_does_not_fit_the_task_is_refused(
    task: str, params: dict[str, str], key: str
) -> None:
    from mlplat.core.config import lightgbm_params

    with pytest.raises(ConfigError) as err:
        lightgbm_params.check(params, task)
    assert err.value.key == key and err.value.exit_code == 2
    lightgbm_params.check({"objective": task}, task)  # the task's own objective is fine


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mapping", "positive"),
    [
        pytest.param({0: "Yes", 1: "No"}, "Yes", id="yes-no"),
        pytest.param({0: True, 1: False}, "True", id="bools"),
        pytest.param({0: 1, 1: 2}, "1", id="one-two"),
    ],
)
def test_binary_labels_of_any_type_train_and_evaluate(
    tmp_path: Path, mapping: dict[int, Any], positive: str
) -> None:
    """featurize -> train -> evaluate with `model.task=binary` (before: `could not convert
    string to float: 'No'`, or LightGBM refusing labels 1/2)."""
    frame = load_breast_cancer(as_frame=True).frame.iloc[:, [0, 1, 7, 20, 27, 30]]
    frame.columns = ["a", "b", "c", "d", "e", "diagnosis"]
    frame["diagnosis"] = frame["diagnosis"].map(mapping)
    frame.to_csv(tmp_path / "cancer.csv", index=False)
    cfg = PlatformConfig(
        data=DataConfig(path=str(tmp_path / "cancer.csv"), target="diagnosis"),
        features=FeaturesConfig(definitions={c: FeatureConfig(column=c) for c in "abcde"}),
        model=ModelConfig(task="binary", num_boost_round=30, params={"num_threads": 1}),
        segments=SegmentsConfig(bootstrap=20),
    )
    paths = ArtifactPaths(root=tmp_path / "artifacts", data=tmp_path / "cancer.csv")
    for stage in graph.in_order():
        if stage.name in ("featurize", "train", "evaluate"):
            stage.run(cfg, paths)
    metrics = read_json(paths["metrics"])
    assert metrics["target"]["positive_class"] == positive
    assert metrics["overall"]["auc"] > 0.95  # P(positive): malignant rows score high
    assert metrics["overall"]["positive_rate"] == pytest.approx(212 / 569, abs=0.02)


def test_a_class_the_model_never_predicts_is_named() -> None:
    from mlplat.stages.evaluate import notes

    binary = {"column": "fraud", "task": "binary", "classes": ["No", "Yes"]}
    y = np.array([0.0] * 96 + [1.0] * 4)
    (line,) = notes.unpredicted_classes(binary, y, np.full(100, 0.04), 0.5)
    assert "predicts 'No' for every holdout row" in line and "never predicts 'Yes'" in line
    assert "4 of 100 rows" in line
    assert notes.unpredicted_classes(binary, y, np.r_[np.full(99, 0.04), 0.9], 0.5) == []
    multi = {"column": "species", "task": "multiclass", "classes": ["a", "b", "c"]}
    scores = np.tile([0.5, 0.4, 0.1], (6, 1))
    scores[3:] = [0.1, 0.8, 0.1]
    (line,) = notes.unpredicted_classes(multi, np.array([0, 1, 2, 0, 1, 2.0]), scores, 0.5)
    assert line == "the model never predicts class 'c' (2 of 6 holdout rows)"
