"""`mlplat init` on data sets nobody here wrote (scikit-learn's and statsmodels' bundled sets),
shaped as users bring them: capitalised and dotted names, Yes/No labels, a date, missing values,
an id, a 301-value name column, a leak. Each project's summary and files say what was inferred,
`mlplat run` succeeds in it, and next year's rows are accepted by its contract and its model.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import mlplat
from tests.project.test_init_inference import NAMES


@dataclass(frozen=True)
class Case:
    frame: pd.DataFrame
    target: str
    expect: dict[str, Any] = field(default_factory=dict)  # summary key -> value


def _sklearn(load: Callable[..., Any], target: str) -> tuple[pd.DataFrame, Any]:
    bunch = load(as_frame=True)
    return bunch.frame.drop(columns="target"), bunch


def _holes(frame: pd.DataFrame, columns: list[str], seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    for column in columns:
        frame.loc[rng.random(len(frame)) < 0.05, column] = np.nan
    return frame


def breast_cancer() -> Case:
    from sklearn.datasets import load_breast_cancer

    frame, bunch = _sklearn(load_breast_cancer, "Malignant")
    frame = _holes(frame, ["mean area", "worst area"], 1)
    frame.insert(0, "Patient ID", np.random.default_rng(2).permutation(len(frame)) + 9000)
    frame["Malignant"] = np.where(bunch.target == 0, "Yes", "No")  # sklearn: 0 is malignant
    return Case(
        frame,
        "Malignant",
        {"left_out": {"Patient ID": "id column (data.id_column)"}, "missing_target": 0},
    )


def iris() -> Case:
    """R's iris: Sepal.Length, ..., Species."""
    from sklearn.datasets import load_iris

    frame, bunch = _sklearn(load_iris, "Species")
    frame.columns = ["Sepal.Length", "Sepal.Width", "Petal.Length", "Petal.Width"]
    frame["Species"] = np.asarray(bunch.target_names)[bunch.target]
    return Case(frame, "Species", {"task": "multiclass", "primary_metric": "log_loss"})


def wine() -> Case:
    """A harvest date (a time split), and missing magnesium readings."""
    from sklearn.datasets import load_wine

    frame, bunch = _sklearn(load_wine, "Cultivar")
    frame["Cultivar"] = np.asarray(bunch.target_names)[bunch.target]
    frame = _holes(frame.sample(frac=1, random_state=4).reset_index(drop=True), ["magnesium"], 3)
    days = pd.date_range("2019-01-01", periods=len(frame), freq="4D")  # harvests over 2 years
    frame.insert(0, "Harvest Date", days.strftime("%Y-%m-%d"))
    return Case(
        frame,
        "Cultivar",
        {"split": {"strategy": "time", "timestamp_column": "Harvest Date"}},
    )


def diabetes() -> Case:
    """A visit id, a 301-value patient name and a column computed from the target."""
    from sklearn.datasets import load_diabetes

    frame, bunch = _sklearn(load_diabetes, "Progression")
    rng = np.random.default_rng(5)
    frame.insert(0, "Visit ID", rng.permutation(len(frame)) + 1)
    frame.insert(1, "Patient Name", rng.permutation(np.resize(NAMES, len(frame))))
    frame["Progression"] = bunch.target
    frame["Progression.Score"] = bunch.target * 1.5 + rng.normal(0, 0.01, len(frame))
    left_out = {
        "Visit ID": "id column (data.id_column)",
        "Patient Name": "identifier-like: 301 distinct values",
    }
    return Case(frame, "Progression", {"task": "regression", "left_out": left_out})


def fair() -> Case:
    """statsmodels' affairs survey with R-style dotted and capitalised names, Yes/No label."""
    from statsmodels.datasets import fair as data

    frame = data.load_pandas().data
    frame["Affair"] = np.where(frame.pop("affairs") > 0, "Yes", "No")
    frame = frame.rename(columns={"yrs_married": "yrs.married", "rate_marriage": "Rate.Marriage"})
    mapped = {"yrs.married": "yrs_married", "Rate.Marriage": "rate_marriage"}
    return Case(frame, "Affair", {"mapped": mapped})


def co2() -> Case:
    """Weekly CO2 at Mauna Loa: a date column and 59 weeks without a reading."""
    from statsmodels.datasets import co2 as data

    frame = data.load_pandas().data.rename_axis("date").reset_index()
    frame["date"] = frame["date"].dt.strftime("%Y-%m-%d")
    expect = {"missing_target": 59, "split": {"strategy": "time", "timestamp_column": "date"}}
    return Case(frame, "co2", expect)


CASES = [breast_cancer, iris, wine, diabetes, fair, co2]


def init(tmp_path: Path, case: Case, name: str) -> tuple[Path, dict[str, Any]]:
    source = tmp_path / f"{name}.csv"
    case.frame.to_csv(source, index=False)
    done = mlplat(
        "init", name, "--data", str(source), "--target", case.target, "--json", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return tmp_path / name, json.loads(done.stdout)


def later_rows(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    """Three labelled rows from next year: numbers past the training maximum, dates a year
    after the last, categories the data never had."""
    rows = frame.dropna().head(3).copy()
    for column in rows.columns:
        values = frame[column]
        if column.lower().endswith("id") or column in ("Patient Name", target):
            continue
        if pd.api.types.is_numeric_dtype(values):
            rows[column] = float(values.max()) + abs(float(values.max())) + 1
        elif values.astype(str).str.match(r"^\d{4}-\d{2}-\d{2}").all():
            rows[column] = (pd.to_datetime(values).max() + pd.Timedelta(days=365)).strftime(
                "%Y-%m-%d"
            )
        else:
            rows[column] = "never seen before"
    return rows


def scores_later_rows(root: Path, rows: pd.DataFrame) -> np.ndarray:
    from mlplat.serving.model import load_model
    from mlplat.serving.payloads import Table

    model = load_model(root / "artifacts/baseline/bundle", None, "test", 1000)
    columns = {c: [None if pd.isna(v) else v for v in rows[c].tolist()] for c in rows.columns}
    _, predictions = model.predict_table(Table(columns, len(rows)))
    return np.asarray(predictions)


@pytest.mark.slow
@pytest.mark.parametrize("build", [pytest.param(b, id=b.__name__) for b in CASES])
def test_init_on_public_data_runs_and_takes_next_years_rows(
    tmp_path: Path, build: Callable[[], Case]
) -> None:
    case = build()
    root, summary = init(tmp_path, case, build.__name__)
    for key, value in case.expect.items():
        found = summary[key]
        assert ({k: found[k] for k in value} if isinstance(value, dict) else found) == value, key
    # the first model must beat the better of the constant and linear baselines
    assert summary["gates"]["min_lift_over_best"] == 0.0
    schema = yaml.safe_load(next((root / "conf/schema").glob("*.yaml")).read_text())
    assert not any("le" in c or "between" in c for c in schema["columns"].values())
    done = mlplat("run", "+experiment=baseline", cwd=root)
    judged = root / "artifacts/baseline/gates.json"  # written by the last stage
    assert judged.is_file(), done.stderr[-3000:]
    # the run went through; a version its gates refuse (e.g. a leak the linear baseline exploits
    # better) may make it exit 1, nothing else may
    passed = json.loads(judged.read_text())["passed"]
    assert done.returncode == 0 or (done.returncode == 1 and not passed), done.stderr[-3000:]
    rows = later_rows(case.frame, case.target)
    rows.to_csv(root / "later.csv", index=False)
    checked = mlplat("validate", "--data", "later.csv", cwd=root)
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-2000:]
    assert np.isfinite(scores_later_rows(root, rows.drop(columns=case.target))).all()


def test_dotted_column_keys_compose_and_are_overridden_as_a_mapping(tmp_path: Path) -> None:
    """`schema.columns.Sepal.Length.ge=1` cannot address a dotted key (Hydra splits at dots);
    assigning a mapping to the parent merges into it (docs/data-contracts.md)."""
    root, summary = init(tmp_path, iris(), "iris")
    assert summary["mapped"]["Sepal.Length"] == "sepal_length"
    done = mlplat(
        "run",
        "+experiment=baseline",
        "schema.columns={Sepal.Length:{ge:1}}",
        "--cfg",
        "job",
        cwd=root,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    columns = yaml.safe_load(done.stdout)["schema"]["columns"]
    assert columns["Sepal.Length"]["ge"] == 1 and columns["Sepal.Length"]["dtype"] == "float"
    assert columns["Sepal.Width"]["dtype"] == "float"  # the other columns are kept
    assert mlplat("lint", cwd=root).returncode == 0


def test_a_yes_no_target_is_binary_with_yes_positive(tmp_path: Path) -> None:
    _, summary = init(tmp_path, fair(), "fair")
    assert (summary["task"], summary["positive_class"]) == ("binary", "Yes")


def test_the_summary_keeps_every_identifier_whole_at_80_columns(tmp_path: Path) -> None:
    case = diabetes()
    source = tmp_path / "d.csv"
    case.frame.to_csv(source, index=False)
    done = mlplat(
        "init",
        "clinic",
        "--data",
        str(source),
        "--target",
        "Progression",
        cwd=tmp_path,
        env={"COLUMNS": "80"},
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    _, summary = init(tmp_path, case, "again")
    names = [
        *summary["mapped"],
        *summary["mapped"].values(),
        *summary["left_out"],
        *summary["segments"],
        *summary["thin_segments"],
    ]
    for name in names:
        assert any(name in line for line in lines), name
    assert "…" not in done.stdout and "Initialized DVC repository" not in done.stdout + done.stderr
    table = lines[1 : lines.index(next(x for x in lines if x.endswith(":")))]
    assert table and all(len(line.rstrip()) <= 80 for line in table)
    assert "likely leak: 'Progression.Score' alone predicts the target" in done.stdout


@pytest.mark.parametrize("where", ["new/nested/proj", "empty"])
def test_a_failed_init_leaves_nothing_behind(tmp_path: Path, where: str) -> None:
    """git missing at the very end: no project, no parent made for it, no staging directory;
    a directory the user made stays, empty."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "d.csv").write_text("Salary,Years\n1,2\n3,4\n5,6\n")
    done = mlplat(
        "init",
        where,
        "--data",
        "d.csv",
        "--target",
        "Salary",
        cwd=tmp_path,
        env={"PATH": os.devnull},
    )
    assert done.returncode == 1 and "git" in done.stderr, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "empty"]
    assert not any((tmp_path / "empty").iterdir())
