"""Invariants learned from training (issue 19, item 7): a column that varied in training and is
constant now, a null rate far above training's, a category share from nowhere. Checked by
`mlplat validate`, the validate stage of `mlplat run` and `mlplat monitor`, undeclared."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlplat.core.config.contract import LearnedConfig, SchemaConfig
from mlplat.core.config.data import DataConfig
from mlplat.core.invariants import Rules, breaches, check
from mlplat.core.reference_stats import column_profile
from tests.conftest import mlplat
from tests.serving_support import trained_project

RULES = Rules(LearnedConfig())
SKLEARN = ("diabetes", "iris", "wine", "breast_cancer")


def sklearn_frame(name: str) -> pd.DataFrame:
    from sklearn import datasets

    return getattr(datasets, f"load_{name}")(as_frame=True).frame


def found(reference: pd.DataFrame, current: pd.DataFrame, rules: Rules = RULES) -> set:
    return {(f.column, f.check) for f in breaches(check(column_profile(reference), current, rules))}


def train_split(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sample(frac=0.8, random_state=0)


@pytest.fixture(scope="module")
def example() -> pd.DataFrame:
    from mlplat.example.churn import generate

    return generate(4000, seed=7)


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in ("churn", *SKLEARN)])
@pytest.mark.parametrize("case", ["itself", "resample", "small-sample"])
def test_unchanged_data_keeps_every_learned_invariant(
    name: str, case: str, example: pd.DataFrame
) -> None:
    frame = example if name == "churn" else sklearn_frame(name)
    current = {
        "itself": frame,
        "resample": frame.sample(len(frame), replace=True, random_state=3),
        "small-sample": frame.sample(25, random_state=4),
    }[case]
    assert found(train_split(frame), current) == set()


def pinned(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(monthly_charges=50.0)


def nulls(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(age=frame["age"].where(np.arange(len(frame)) % 4 != 0))


def new_region(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(region=frame["region"].where(np.arange(len(frame)) % 5 != 0, "atlantis"))


def few_rows_pinned(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.head(30).assign(plan="basic")


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        pytest.param(pinned, ("monthly_charges", "constant"), id="pinned-to-one-value"),
        pytest.param(nulls, ("age", "null_rate"), id="quarter-null"),
        pytest.param(new_region, ("region", "new_category"), id="category-from-nowhere"),
        pytest.param(few_rows_pinned, ("plan", "constant"), id="30-rows-one-plan"),
    ],
)
def test_a_broken_batch_breaks_exactly_its_invariant(
    broken: object, expected: tuple[str, str], example: pd.DataFrame
) -> None:
    assert found(train_split(example), broken(example)) == {expected}  # type: ignore[operator]


def test_a_few_equal_values_of_a_skewed_column_are_not_called_constant(
    example: pd.DataFrame,
) -> None:
    """Four rows that all churn=0 happen by chance (76% of training rows do)."""
    current = example[example["churn"] == 0].head(4)
    assert found(train_split(example), current) == set()


def test_the_batch_date_and_ignored_columns_are_exempt(example: pd.DataFrame) -> None:
    current = example.assign(signup_date="2025-01-01", monthly_charges=50.0)
    assert found(train_split(example), current) == {
        ("signup_date", "constant"),
        ("monthly_charges", "constant"),
    }
    schema = SchemaConfig(learned=LearnedConfig(ignore=["monthly_charges"]))
    data = DataConfig(path="x.csv", target="churn", timestamp_column="signup_date")
    assert found(train_split(example), current, Rules.of(schema, data)) == set()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_project(tmp_path_factory.mktemp("learned") / "proj")


def write_pinned(root: Path) -> Path:
    data = pd.read_csv(root / "data" / "churn.csv")
    data.assign(monthly_charges=50.0).to_csv(root / "pinned.csv", index=False)
    return root / "pinned.csv"


def test_first_validation_has_no_reference_and_says_so(tmp_path: Path) -> None:
    from tests.conftest import make_project

    root = make_project(tmp_path / "fresh", rows=1200)
    done = mlplat("validate", "+experiment=churn_baseline", "--json", cwd=root)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["valid"] and report["learned"]["reference"] is None
    assert "no reference yet" in report["learned"]["note"]


@pytest.mark.slow
def test_validate_fails_a_pinned_column_naming_it(trained: Path) -> None:
    pinned_file = write_pinned(trained)
    done = mlplat("validate", "+experiment=churn_baseline", "--data", str(pinned_file), cwd=trained)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "monthly_charges" in done.stdout and "learned.constant" in done.stdout
    as_json = mlplat(
        "validate", "+experiment=churn_baseline", "--data", str(pinned_file), "--json", cwd=trained
    )
    report = json.loads(as_json.stdout)
    assert {(f["column"], f["check"]) for f in report["failures"]} == {
        ("monthly_charges", "learned.constant")
    }
    assert report["learned"]["reference"].endswith("bundle/profile.json")
    clean = mlplat("validate", "+experiment=churn_baseline", cwd=trained)
    assert clean.returncode == 0, clean.stdout + clean.stderr


@pytest.mark.slow
def test_validate_against_a_registered_model(trained: Path) -> None:
    pinned_file = write_pinned(trained)
    done = mlplat(
        "validate",
        "+experiment=churn_baseline",
        "--data",
        str(pinned_file),
        "--reference",
        "models:/telco-churn-lgbm@challenger",
        "--json",
        cwd=trained,
    )
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["learned"]["reference"] == "models:/telco-churn-lgbm@challenger"


@pytest.mark.slow
def test_monitor_reports_the_pinned_column(trained: Path) -> None:
    pinned_file = write_pinned(trained)
    done = mlplat(
        "monitor",
        "--model",
        "models:/telco-churn-lgbm@challenger",
        "--current",
        str(pinned_file),
        "--json",
        "--output",
        str(trained / "reports" / "pinned"),
        cwd=trained,
    )
    assert done.returncode == 1, done.stderr
    summary = json.loads(done.stdout)
    assert "invariant.constant[monthly_charges]=0 (limit" in " ".join(summary["breaches"])


@pytest.mark.slow
def test_a_run_on_pinned_data_stops_at_validate_and_registers_nothing(trained: Path) -> None:
    from mlflow import MlflowClient

    from tests.conftest import tracking_uri

    client = MlflowClient(tracking_uri(trained))
    before = len(client.search_model_versions("name='telco-churn-lgbm'"))
    data = trained / "data" / "churn.csv"
    original = data.read_bytes()
    try:
        data.write_bytes(write_pinned(trained).read_bytes())
        done = mlplat("run", "+experiment=churn_baseline", "model.num_boost_round=20", cwd=trained)
    finally:
        data.write_bytes(original)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "monthly_charges" in done.stderr and "learned.constant" in done.stderr
    assert len(client.search_model_versions("name='telco-churn-lgbm'")) == before
