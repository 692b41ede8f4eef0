"""What `mlplat init` infers from a user's table (issue 19, items 3, 4 and 12): a contract that
lets next year's rows through, an explicit unseen-category policy that training and serving
apply alike, conventional names derived from the user's, columns left out with a reason, a
time split, leak warnings, default segments and gates, and a summary that says all of it."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from mlplat.core import fastfeatures
from mlplat.core.config import PlatformConfig
from mlplat.core.config.contract import FeatureConfig, SchemaConfig
from mlplat.core.errors import ConfigError
from mlplat.core.features import fit_spec, transform
from mlplat.core.names import derive, snake
from mlplat.project import inference, leaks, scaffold
from mlplat.serving.errors import InputError
from mlplat.serving.validation import compile_schema
from mlplat.stages.validate.validate import validate_frame

NAMES = [f"{first} {last}" for first in ("Ann", "Bo", "Cy") for last in range(100)] + ["Di Ro"]


def user_table(rows: int = 900, seed: int = 3) -> pd.DataFrame:
    """A table as a user brings it: dotted and capitalised names, an id, a 301-value name
    column, a date, amounts resting on zero, a year, a leak, and some rows with no target."""
    rng = np.random.default_rng(seed)
    churned = rng.integers(0, 2, rows)
    frame = pd.DataFrame(
        {
            "Customer ID": rng.permutation(rows) + 1000,
            "Full Name": np.resize(NAMES, rows),
            "Signup Date": pd.Series(pd.date_range("2021-01-01", periods=rows, freq="D"))
            .dt.strftime("%Y-%m-%d")
            .sample(frac=1, random_state=seed)
            .to_numpy(),
            "Plan.Type": rng.choice(["basic", "plus", "pro"], rows),
            "Balance": np.round(rng.gamma(1.0, 300.0, rows), 2),
            "Year": rng.integers(2015, 2021, rows),
            "Monthly.Charges": np.round(rng.uniform(20, 120, rows), 2),
            "Churn.Copy": churned * 10 + rng.normal(0, 0.01, rows),
            "Churned": churned.astype("float64"),
        }
    )
    frame.loc[rng.choice(rows, 30, replace=False), "Churned"] = np.nan
    return frame


@pytest.fixture(scope="module")
def made() -> scaffold.Draft:
    return scaffold.draft("acme", user_table(), "Churned", "data/acme.csv")


def typed_schema(tree: dict[str, Any]) -> SchemaConfig:
    """The schema group as Hydra hands it over: merged into the typed dataclass."""
    merged = OmegaConf.merge(OmegaConf.structured(SchemaConfig), tree)
    return OmegaConf.to_object(merged)  # type: ignore[return-value]


# ------------------------------------------------------------ item 3: bounds and categories
@pytest.mark.parametrize(
    ("values", "bounds"),
    [
        pytest.param([2003, 2005, 2009], {}, id="year"),
        pytest.param([0.0, 12.5, 2654.3], {"ge": 0}, id="amount-from-zero"),
        pytest.param([771.0, 20_000.0, 73_554.0], {"ge": 0}, id="income-near-zero"),
        pytest.param([18, 40, 90], {}, id="age-far-from-zero"),
        pytest.param([-3.2, 0.4, 5.0], {}, id="signed"),
    ],
)
def test_only_physical_bounds_are_declared(values: list[float], bounds: dict[str, int]) -> None:
    inferred = inference.infer_column(pd.Series(values))
    assert {k: v for k, v in inferred.items() if k in ("ge", "gt", "le", "lt", "between")} == bounds


def test_next_years_rows_pass_the_inferred_contract(made: scaffold.Draft) -> None:
    """A year one past training, a balance above its maximum, a later date and a plan the data
    never had: the contract init wrote takes them all (the profile notices, not the schema)."""
    frame = user_table()
    schema = typed_schema(made.groups["schema"])
    later = frame.head(3).copy()
    later["Year"] = int(frame["Year"].max()) + 1
    later["Balance"] = float(frame["Balance"].max()) * 2
    later["Monthly.Charges"] = float(frame["Monthly.Charges"].max()) + 50
    later["Signup Date"] = "2031-01-01"
    later["Plan.Type"] = "enterprise"
    report, _ = validate_frame(later, schema, "Churned")
    assert report["valid"], report["failures"]
    columns = {c: later[c].tolist() for c in later.columns if c != "Churned"}
    bundle_schema = {
        "input_columns": list(columns),
        **made.groups["schema"],
    }
    compile_schema(bundle_schema).validate(columns, 3, text=False)  # serving: no InputError
    negative = later.assign(Balance=-1.0)  # a physical bound still holds
    assert not validate_frame(negative, schema, "Churned")[0]["valid"]


@pytest.mark.parametrize(
    ("policy", "valid"),
    [pytest.param("reject", False, id="reject"), pytest.param("unknown", True, id="unknown")],
)
def test_unseen_policy_decides_in_validation_and_serving(policy: str, valid: bool) -> None:
    tree = {"columns": {"plan": {"dtype": "str", "isin": ["basic", "pro"], "unseen": policy}}}
    schema = typed_schema(tree)
    report, _ = validate_frame(pd.DataFrame({"plan": ["basic", "gold"]}), schema)
    assert report["valid"] is valid
    validator = compile_schema(tree)
    if valid:
        assert validator.validate({"plan": ["basic", "gold"]}, 2, text=False)["plan"][1] == "gold"
    else:
        with pytest.raises(InputError) as bad:
            validator.validate({"plan": ["basic", "gold"]}, 2, text=False)
        assert bad.value.status == 422 and bad.value.column == "plan"


@pytest.mark.parametrize(
    ("policy", "rate"),
    [pytest.param("reject", 0.5, id="reject"), pytest.param("unknown", 0.0, id="unknown")],
)
def test_monitor_counts_a_new_value_as_a_schema_break_only_when_rejected(
    policy: str, rate: float
) -> None:
    """Under `unknown` a new value is not a broken row; the drift checks count it as unseen."""
    from mlplat.core.config.ops import MonitoringConfig
    from mlplat.stages.monitor.invariants import schema_checks

    column = {"dtype": "str", "isin": ["basic", "pro"], "unseen": policy}
    schema = {"input_columns": ["plan"], "columns": {"plan": column}}
    found = schema_checks(pd.DataFrame({"plan": ["basic", "gold"]}), schema, MonitoringConfig())
    assert found.value == rate


def test_a_misspelt_unseen_policy_names_its_key() -> None:
    schema = typed_schema({"columns": {"plan": {"isin": ["a"], "unseen": "drop"}}})
    with pytest.raises(ConfigError, match="unseen policy 'drop'") as bad:
        validate_frame(pd.DataFrame({"plan": ["a"]}), schema)
    assert bad.value.key == "schema.columns.plan.unseen"


def test_unknown_bucket_is_the_same_in_training_and_serving() -> None:
    """A value rarer than min_frequency in training, and one never seen, both get the unknown
    bucket's code (after the last category) on both paths; a null stays missing."""
    train = pd.DataFrame({"plan": ["basic"] * 5 + ["pro"] * 5 + ["rare"]})
    spec = fit_spec({"plan": FeatureConfig(kind="category", column="plan", min_frequency=2)}, train)
    assert spec["features"][0]["categories"] == ["basic", "pro"]
    trained = transform(spec, train)[:, 0]
    assert trained[-1] == 2.0  # the model trains on the bucket
    rows = pd.DataFrame({"plan": ["pro", "rare", "never seen", None]}, dtype=object)
    fast = fastfeatures.compile_spec(spec)
    expected = [1.0, 2.0, 2.0, math.nan]
    for n in (4, 12):  # the scalar path (a few rows) and the vector path
        batch = pd.concat([rows] * (n // 4), ignore_index=True)
        served = fast({"plan": batch["plan"].tolist()}, n)[:, 0]
        np.testing.assert_array_equal(served, expected * (n // 4))
        np.testing.assert_array_equal(transform(spec, batch)[:, 0], served)


# ------------------------------------------------------------ item 4: names
def test_derived_names_are_snake_case_and_distinct() -> None:
    mapped = derive(["F.Undergrad", "F_Undergrad", "Salary", "Plan Type", "2nd", "PhD"])
    assert mapped == {
        "F.Undergrad": "f_undergrad",
        "F_Undergrad": "f_undergrad_2",
        "Salary": "salary",
        "Plan Type": "plan_type",
        "2nd": "x_2nd",
        "PhD": "ph_d",
    }


@pytest.mark.parametrize("target", ["Salary", "Purchase", "Private", "F.Undergrad"])
def test_registered_model_name_derives_from_any_target(target: str) -> None:
    import re

    from mlplat.core import provenance

    cfg = PlatformConfig()
    cfg.data.target, cfg.registry.domain = target, "college"
    name = provenance.model_name(cfg)
    assert name == f"college-{snake(target)}-lgbm"
    assert re.fullmatch(cfg.registry.name_pattern, name)


def test_columns_keep_their_names_and_features_get_derived_ones(made: scaffold.Draft) -> None:
    definitions = made.groups["features"]["definitions"]
    assert definitions["plan_type"] == {
        "kind": "category",
        "column": "Plan.Type",
        "min_frequency": 5,
    }
    assert definitions["monthly_charges"] == {"kind": "passthrough", "column": "Monthly.Charges"}
    assert "Plan.Type" in made.groups["schema"]["columns"]
    assert made.summary.mapped["Plan.Type"] == "plan_type"
    assert "Churned" not in made.summary.mapped  # the target is not renamed


# ------------------------------------------------------------ item 12: time, rows, columns
def test_a_date_column_gets_a_time_split(made: scaffold.Draft) -> None:
    data = made.groups["data"]
    assert data["timestamp_column"] == "Signup Date"
    assert data["split"]["strategy"] == "time"
    assert made.summary.split["strategy"] == "time"


def test_missing_targets_are_counted(made: scaffold.Draft) -> None:
    assert made.summary.missing_target == 30
    assert made.groups["schema"]["columns"]["Churned"]["nullable"] is True


def test_ids_and_names_are_left_out_of_the_features(made: scaffold.Draft) -> None:
    columns = {d["column"] for d in made.groups["features"]["definitions"].values()}
    assert "Full Name" not in columns and "Customer ID" not in columns
    assert made.groups["data"]["id_column"] == "Customer ID"
    assert made.summary.left_out == {
        "Customer ID": "id column (data.id_column)",
        "Full Name": "high-cardinality: 301 distinct values",
    }


@pytest.mark.parametrize(
    ("rows", "why"),
    [
        pytest.param(400, "identifier-like", id="mostly-distinct"),
        pytest.param(5000, "high-cardinality", id="many-values"),
    ],
)
def test_a_301_value_name_column_is_never_a_category(rows: int, why: str) -> None:
    frame = pd.DataFrame({"name": np.resize(NAMES, rows), "y": np.arange(rows) % 2})
    [plan] = [p for p in inference.plan_columns(frame, "y") if p.name == "name"]
    assert plan.role.value == why and plan.distinct == 301


def test_a_row_number_column_is_identifier_like() -> None:
    frame = pd.DataFrame({"Unnamed: 0": np.arange(1, 201), "x": np.arange(200) % 7, "y": 1})
    roles = {p.name: p.role.value for p in inference.plan_columns(frame, "y")}
    assert roles == {"Unnamed: 0": "identifier-like", "x": "feature", "y": "target"}


def test_a_leaking_column_is_warned_about(made: scaffold.Draft) -> None:
    [warning] = made.summary.warnings
    assert "'Churn.Copy' alone predicts the target" in warning


def test_a_target_summed_from_columns_is_warned_about() -> None:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({c: rng.gamma(2.0, 10.0, 500) for c in ("rent", "food", "fun", "x")})
    frame["Total"] = frame["rent"] + frame["food"] + frame["fun"]
    found, scores = leaks.find(frame, "Total", "regression", list(frame)[:4], list(frame)[:4])
    assert max(scores.values()) < leaks.THRESHOLD  # no one column gives it away
    assert [leak.columns for leak in found] == [("rent", "food", "fun")]


def test_strong_honest_features_are_not_leaks() -> None:
    from sklearn.datasets import load_breast_cancer, load_iris

    for load, task in ((load_iris, "multiclass"), (load_breast_cancer, "binary")):
        frame = load(as_frame=True).frame
        columns = [c for c in frame.columns if c != "target"]
        assert leaks.find(frame, "target", task, columns, columns)[0] == []


# ------------------------------------------------------------ a good project
def test_default_segments_and_gates(made: scaffold.Draft) -> None:
    slices = made.groups["segments"]["slices"]
    assert slices["plan_type"] == {"column": "Plan.Type", "each_value": True}
    binned = [s for s in slices.values() if "bins" in s]
    assert len(binned) == 1 and binned[0]["column"] != "Churn.Copy"  # never on a leak
    gates = made.groups["gates"]
    assert gates["min_lift_over_best"] == 0.0 and gates["segment_max_gap"] == 0.2
    assert gates["champion_metric"] == "auc"
    assert gates["segment_min_support"] == made.groups["segments"]["min_support"]


def test_thin_segments_are_reported_with_their_holdout_rows() -> None:
    frame = user_table(rows=300)
    summary = scaffold.draft("small", frame, "Churned", "data/small.csv").summary
    assert summary.thin_segments  # 54 holdout rows: no slice reaches 50
    assert all(rows < summary.min_support for rows in summary.thin_segments.values())
    assert set(summary.thin_segments) >= {"plan_type.basic", "plan_type.plus", "plan_type.pro"}
