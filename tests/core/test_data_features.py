"""Features declared once: batch (training) and one-row (serving) results agree; the catalog."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from mlplat.core import dataio
from mlplat.core.config.contract import FeaturesConfig
from mlplat.core.errors import ConfigError
from mlplat.core.features import KINDS, describe, fit_spec, transform
from tests.conftest import REPO, make_project, mlplat

SAMPLE = 60


def declared(path: Path = REPO / "conf" / "features" / "churn.yaml") -> FeaturesConfig:
    typed = OmegaConf.to_object(
        OmegaConf.merge(OmegaConf.structured(FeaturesConfig), OmegaConf.load(path))
    )
    assert isinstance(typed, FeaturesConfig)
    return typed


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, pd.DataFrame]:
    """The example data read as training reads it, and the spec fitted on it."""
    root = make_project(tmp_path_factory.mktemp("features") / "proj", rows=1500)
    frame = dataio.read_frame(str(root / "data" / "churn.csv"))
    train = frame.iloc[:1000]
    return fit_spec(declared().definitions, train), frame


def test_example_catalog_uses_every_feature_kind() -> None:
    assert {d.kind for d in declared().definitions.values()} == set(KINDS)


def test_one_row_equals_the_same_row_of_the_batch(example: tuple[dict, pd.DataFrame]) -> None:
    spec, frame = example
    batch = transform(spec, frame)
    rows = np.random.default_rng(0).choice(len(frame), SAMPLE, replace=False)
    for i in rows:
        np.testing.assert_array_equal(
            transform(spec, frame.iloc[[i]]), batch[[i]], err_msg=f"row {i}"
        )


def test_one_json_row_equals_the_batch(example: tuple[dict, pd.DataFrame]) -> None:
    """As serving receives it: a JSON object per row, nulls for missing values, ISO date strings."""
    spec, frame = example
    batch = transform(spec, frame)
    records = json.loads(frame.head(SAMPLE).to_json(orient="records", date_format="iso"))
    for i, record in enumerate(records):
        np.testing.assert_array_equal(
            transform(spec, pd.DataFrame([record])), batch[[i]], err_msg=f"row {i}: {record}"
        )


def test_unseen_values_behave_the_same_in_batch_and_alone(
    example: tuple[dict, pd.DataFrame],
) -> None:
    spec, frame = example
    odd = frame.head(3).copy()
    odd.loc[odd.index[1], ["region", "plan"]] = "atlantis"
    odd.loc[odd.index[2], ["signup_date", "monthly_charges"]] = [None, 0.0]
    batch = transform(spec, odd)
    for i in range(3):
        np.testing.assert_array_equal(transform(spec, odd.iloc[[i]]), batch[[i]])
    names = [f["name"] for f in spec["features"]]
    region = next(f for f in spec["features"] if f["name"] == "region")
    unknown = len(region["categories"])  # unseen category -> the unknown bucket, not missing
    assert batch[1, names.index("region")] == unknown
    assert batch[1, names.index("plan_frequency")] == 0.0  # unseen -> never seen in training
    assert np.isnan(batch[2, names.index("charges_ratio")])  # x / 0 is missing, not inf


def test_categories_are_looked_up_alike_with_and_without_arrow_strings(
    example: tuple[dict, pd.DataFrame],
) -> None:
    """pyarrow's kernel for Arrow-backed strings, a pandas index for others (a serving image's
    pandas may have no pyarrow): the same codes and shares, unseen and missing keys included."""
    spec, frame = example
    odd = frame.head(50).copy()
    odd.loc[odd.index[1], ["region", "plan"]] = "atlantis"
    odd.loc[odd.index[2], ["region", "plan"]] = None
    by_kind = {f["kind"]: f for f in spec["features"] if f["kind"] in ("category", "frequency")}
    for storage in ("pyarrow", "python"):
        with pd.option_context("mode.string_storage", storage):  # what "string" stands for
            assert pd.Series(["x"]).astype("string").dtype.storage == storage
            found = {kind: KINDS[kind][1](f, odd) for kind, f in by_kind.items()}
        for kind, f in by_kind.items():
            got = found[kind]
            want = [
                (
                    f["categories"].index(v)
                    if v in f["categories"]
                    else np.nan
                    if v is None
                    else len(f["categories"])
                )
                if kind == "category"
                else f["frequencies"].get(v, 0.0)
                for v in odd[f["column"]].where(odd[f["column"]].notna(), None)
            ]
            np.testing.assert_array_equal(got, np.asarray(want, dtype=float), err_msg=storage)


def test_fitted_state_comes_from_training_rows_only(example: tuple[dict, pd.DataFrame]) -> None:
    spec, frame = example
    plan = next(f for f in spec["features"] if f["name"] == "plan_frequency")
    expected = frame.iloc[:1000]["plan"].value_counts(normalize=True)
    assert plan["frequencies"] == pytest.approx(expected.to_dict())
    json.dumps(spec, allow_nan=False)  # the spec travels in the pickle-free bundle


@pytest.mark.parametrize(
    ("definition", "text"),
    [
        pytest.param(
            {"kind": "ratio", "numerator": "a", "denominator": "b"}, "ratio(a / b)", id="ratio"
        ),
        pytest.param(
            {"kind": "clip", "column": "a", "lower": 0, "upper": 1}, "clip(a, 0, 1)", id="clip"
        ),
        pytest.param(
            {"kind": "days_since", "column": "d"},
            "days_since(d, latest date in training data)",
            id="days-since",
        ),
        pytest.param({"kind": "log1p", "column": "a"}, "log1p(a)", id="log1p"),
    ],
)
def test_describe(definition: dict, text: str) -> None:
    assert describe(definition) == text


def test_unknown_kind_names_its_key() -> None:
    bad = declared()
    bad.definitions["tenure_days"].kind = "magic"
    with pytest.raises(ConfigError) as info:
        fit_spec(bad.definitions, pd.DataFrame({"signup_date": ["2020-01-01"]}))
    assert info.value.key == "features.definitions.tenure_days.kind"


@pytest.mark.parametrize(
    ("name", "change", "key"),
    [
        pytest.param("data_usage_gb", {"lower": None, "upper": None}, "lower", id="clip-no-bounds"),
        pytest.param("data_usage_gb", {"lower": 5.0, "upper": 1.0}, "lower", id="clip-inverted"),
        pytest.param("age_band", {"bins": [50.0, 25.0]}, "bins", id="bins-not-increasing"),
        pytest.param("signup_month", {"part": "fortnight"}, "part", id="unknown-date-part"),
        pytest.param("charges_ratio", {"denominator": None}, "denominator", id="ratio-half"),
    ],
)
def test_bad_arguments_fail_at_fit_naming_their_key(
    example: tuple[dict, pd.DataFrame], name: str, change: dict, key: str
) -> None:
    definitions = declared().definitions
    for attr, value in change.items():
        setattr(definitions[name], attr, value)
    with pytest.raises(ConfigError) as info:
        fit_spec(definitions, example[1])
    assert info.value.key == f"features.definitions.{name}.{key}"


LEAN = """\
name: lean
definitions:
  tenure_days: {kind: days_since, column: signup_date, reference_date: "2024-07-01",
                description: "Days from signup to the snapshot date"}
  support_calls: {kind: clip, column: support_calls, lower: 0, upper: 10, description: "Capped"}
"""
LEAN_EXPERIMENT = """\
# @package _global_
defaults:
  - override /data: churn
  - override /model: lightgbm_binary
  - override /features: lean
experiment_name: churn_lean
"""


def test_features_list_shows_definitions_and_which_experiments_use_them(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj", rows=50)
    (root / "conf" / "features" / "lean.yaml").write_text(LEAN)
    (root / "conf" / "experiment" / "churn_lean.yaml").write_text(LEAN_EXPERIMENT)
    done = mlplat("features", "list", "--json", cwd=root)
    assert done.returncode == 0, done.stderr
    rows = {(r["name"], r["definition"]): r for r in json.loads(done.stdout)}
    shared = rows[("tenure_days", "days_since(signup_date, 2024-07-01)")]
    assert shared["kind"] == "days_since"
    assert shared["description"] == "Days from signup to the snapshot date"
    assert shared["experiments"] == ["churn_baseline", "churn_lean"]
    assert rows[("support_calls", "passthrough(support_calls)")]["experiments"] == [
        "churn_baseline"
    ]
    assert rows[("support_calls", "clip(support_calls, 0.0, 10.0)")]["experiments"] == [
        "churn_lean"
    ]
    ratio = rows[("charges_ratio", "ratio(total_charges / monthly_charges)")]
    assert ratio["experiments"] == ["churn_baseline"]
    assert len(rows) == len(declared().definitions) + 1
    table = mlplat("features", "list", cwd=root).stdout  # the same, for a person
    assert "tenure_days" in table and "days_since(signup_date, 2024-07-01)" in table
