"""The serving fast path computes exactly what `features.transform` (training) computes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mlplat.core import fastfeatures
from mlplat.core.config.contract import FeatureConfig
from mlplat.core.features import fit_spec, transform
from tests.conftest import REPO


@pytest.fixture(scope="module")
def frame(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    from mlplat.example.churn import write

    path = tmp_path_factory.mktemp("data") / "churn.csv"
    write(path, rows=3000)
    return pd.read_csv(path)


@pytest.fixture(scope="module")
def spec(frame: pd.DataFrame) -> dict:
    declared = yaml.safe_load((REPO / "conf" / "features" / "churn.yaml").read_text())[
        "definitions"
    ]
    return fit_spec({k: FeatureConfig(**v) for k, v in declared.items()}, frame)


def as_request(frame: pd.DataFrame) -> dict[str, list]:
    """The frame as a JSON client would send it (dates as ISO text, NaN as null)."""
    split = json.loads(frame.to_json(orient="split", index=False, date_format="iso"))
    return {c: [row[j] for row in split["data"]] for j, c in enumerate(split["columns"])}


def test_parity_on_the_example_data(frame: pd.DataFrame, spec: dict) -> None:
    columns = as_request(frame)
    fast = fastfeatures.compile_spec(spec)(columns, len(frame))
    np.testing.assert_array_equal(fast, transform(spec, frame))
    np.testing.assert_array_equal(fast, transform(spec, pd.DataFrame(columns)))


@pytest.mark.parametrize("row", range(5))
def test_parity_one_row_at_a_time(frame: pd.DataFrame, spec: dict, row: int) -> None:
    one = frame.iloc[[row * 97]]
    fast = fastfeatures.compile_spec(spec)(as_request(one), 1)
    np.testing.assert_array_equal(fast, transform(spec, one.reset_index(drop=True)))


def test_parity_on_edge_values(spec: dict) -> None:
    """Nulls everywhere, unknown categories, junk numbers, zero denominators, timestamps."""
    edge = pd.DataFrame(
        {
            "signup_date": [None, "2023-02-28", "not a date", "2020-01-01"],
            "region": [None, "atlantis", "north", "south"],
            "plan": ["basic", None, "unknown", "premium"],
            "contract": ["one_year", "two_year", None, "x"],
            "payment_method": ["card", None, "card", "cheque"],
            "num_lines": [1, None, 3, 4],
            "monthly_charges": [0.0, 10.0, None, 20.0],
            "total_charges": [5.0, None, 0.0, -3.0],
            "data_usage_gb": [500.0, -1.0, None, 3.0],
            "support_calls": [0, 1, 2, None],
            "dropped_calls": [None, 0, 1, 2],
            "age": [None, 25.0, 17.0, 99.0],
            "paperless_billing": [True, False, None, True],
        },
        dtype=object,
    )
    run = fastfeatures.compile_spec(spec)
    for frame in (edge, pd.concat([edge] * 3, ignore_index=True)):  # scalar path, vector path
        fast = run({c: frame[c].tolist() for c in frame.columns}, len(frame))
        np.testing.assert_array_equal(fast, transform(spec, frame))
    # One row with a time of day (pandas infers one date format per column, so mixed formats
    # in one batch are a known difference: features.transform gives NaT for the odd ones out).
    stamp = edge.iloc[[1]].reset_index(drop=True).assign(signup_date="2023-02-28T13:45:00")
    fast = run({c: stamp[c].tolist() for c in stamp.columns}, 1)
    np.testing.assert_array_equal(fast, transform(spec, stamp))


def test_serving_stack_never_imports_pandas_or_mlflow(tmp_path: Path) -> None:
    """The request path stays light: the serving modules load without pandas/pandera/mlflow."""
    import subprocess
    import sys

    code = (
        "import sys, mlplat.serving.app, mlplat.core.fastfeatures; "
        "bad = [m for m in ('pandas', 'mlflow', 'pandera', 'sklearn', 'dvc') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr
