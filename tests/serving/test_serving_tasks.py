"""Every task is served (issue 19 item 1): a multiclass and a regression model from `mlplat init`
projects on scikit-learn's bundled data sets answer every valid row, in every payload format,
with the labels next to the numbers; /metrics counts the status each client saw; and
`mlplat profile` reports the server's errors instead of a met SLO."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import mlplat
from tests.serving_support import request, running_server, score, task_bundle, task_project

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("tasks")
    return {task: task_project(base / task, task) for task in ("multiclass", "regression")}


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(("multiclass", "inline"), id="multiclass-inline"),
        pytest.param(("multiclass", "offload"), id="multiclass-offload"),
        pytest.param(("regression", "inline"), id="regression-inline"),
    ],
)
def served(
    request: pytest.FixtureRequest, projects: dict[str, Path]
) -> Iterator[tuple[str, Path, int]]:
    """A server per task; `offload` scores every request in the worker processes."""
    task, path = request.param
    root = projects[task]
    offload = ["serving.offload_min_bytes=0"] if path == "offload" else []
    args = ("--model", str(task_bundle(root)), "--poll-interval", "0", *offload)
    with running_server(root, *args) as (_, port):
        yield task, root, port


def sample(root: Path) -> dict[str, Any]:
    data = json.loads((task_bundle(root) / "sample.json").read_text())
    return {"columns": data["columns"], "data": data["data"]}


def reference(root: Path, split: dict[str, Any]) -> np.ndarray:
    """The bundle scored by the training code's pandas path."""
    import pandas as pd

    from mlplat.core.bundle import load_bundle

    frame = pd.DataFrame(split["data"], columns=split["columns"])
    return np.asarray(load_bundle(task_bundle(root)).predict(frame))


def target_spec(root: Path) -> dict[str, Any]:
    return dict(json.loads((task_bundle(root) / "feature_spec.json").read_text())["target"])


def test_every_valid_row_is_answered_with_its_labels(served: tuple[str, Path, int]) -> None:
    task, root, port = served
    split = sample(root)
    status, body = score(port, {"dataframe_split": split})
    assert status == 200, body
    expected = reference(root, split)
    assert np.allclose(np.asarray(body["predictions"]), expected, rtol=1e-9)
    if task == "regression":
        assert "classes" not in body and "labels" not in body
        return
    classes = target_spec(root)["classes"]
    assert body["classes"] == classes == ["setosa", "versicolor", "virginica"]
    assert all(len(row) == 3 and sum(row) == pytest.approx(1) for row in body["predictions"])
    assert body["labels"] == [classes[i] for i in expected.argmax(axis=1)]


def test_a_row_with_its_target_column_is_still_valid(served: tuple[str, Path, int]) -> None:
    """Rows copied from the training file carry the target column; it is declared, not read."""
    task, root, port = served
    split = sample(root)
    column = target_spec(root)["column"]
    value = "setosa" if task == "multiclass" else 150.0
    with_target = {
        "columns": [*split["columns"], column],
        "data": [[*row, value] for row in split["data"]],
    }
    status, body = score(port, {"dataframe_split": with_target})
    assert status == 200, body
    assert np.allclose(np.asarray(body["predictions"]), reference(root, split), rtol=1e-9)


def _csv(split: dict[str, Any]) -> str:
    rows = [",".join(split["columns"])]
    rows += [",".join("" if v is None else str(v) for v in row) for row in split["data"]]
    return "\n".join(rows) + "\n"


def test_csv_and_v2_give_the_same_answers(served: tuple[str, Path, int]) -> None:
    task, root, port = served
    split = sample(root)
    expected = reference(root, split)
    status, _, raw = request(
        port, "POST", "/invocations", _csv(split), {"Content-Type": "text/csv"}
    )
    assert status == 200, raw
    assert np.allclose(np.asarray(json.loads(raw)["predictions"]), expected, rtol=1e-9)
    name = json.loads(request(port, "GET", "/version")[2])["model_name"]
    meta = json.loads(request(port, "GET", f"/v2/models/{name}")[2])
    types = {i["name"]: i["datatype"] for i in meta["inputs"]}
    inputs = [
        {"name": c, "shape": [len(split["data"])], "datatype": types[c], "data": values}
        for j, c in enumerate(split["columns"])
        if c in types
        for values in [[row[j] for row in split["data"]]]
    ]
    status, body = score(port, {"inputs": inputs}, f"/v2/models/{name}/infer")
    assert status == 200, body
    outputs = {o["name"]: o for o in body["outputs"]}
    predictions = outputs["predictions"]
    assert predictions["shape"] == list(expected.shape)
    assert np.allclose(np.asarray(predictions["data"]).reshape(expected.shape), expected)
    if task == "multiclass":
        classes = target_spec(root)["classes"]
        assert predictions["parameters"] == {"classes": classes}
        assert outputs["labels"]["data"] == [classes[i] for i in expected.argmax(axis=1)]
        assert [o["name"] for o in meta["outputs"]] == ["predictions", "labels"]


def _counts(port: int) -> dict[str, float]:
    text = request(port, "GET", "/metrics")[2].decode()
    found = re.findall(
        r'^mlplat_requests_total\{endpoint="invocations",status="(\d+)"\} (\S+)$', text, re.M
    )
    return {status: float(value) for status, value in found}


def _metric(port: int, name: str) -> float:
    text = request(port, "GET", "/metrics")[2].decode()
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def test_metrics_count_the_status_each_client_saw(served: tuple[str, Path, int]) -> None:
    _, root, port = served
    split = sample(root)
    bad = json.loads(json.dumps(split))
    bad["data"][0][0] = "not a number"
    before, rows_before = _counts(port), _metric(port, "mlplat_prediction_count")
    seen = Counter()
    for payload in [split, split, bad, split]:
        seen[str(score(port, {"dataframe_split": payload})[0])] += 1
    after = _counts(port)
    counted = {s: after[s] - before.get(s, 0.0) for s in after if after[s] != before.get(s, 0.0)}
    assert counted == {s: float(n) for s, n in seen.items()}
    assert seen == {"200": 3, "422": 1}
    rows = _metric(port, "mlplat_prediction_count") - rows_before
    assert rows == 3 * len(split["data"])


def test_a_422_lists_every_bad_column_of_the_row(served: tuple[str, Path, int]) -> None:
    _, root, port = served
    split = sample(root)
    row = list(split["data"][0])
    numeric = [j for j, v in enumerate(row) if isinstance(v, float)][:3]
    for j in numeric:
        row[j] = "junk"
    status, body = score(port, {"dataframe_split": {"columns": split["columns"], "data": [row]}})
    assert status == 422, body
    assert [(e["column"], e["row"]) for e in body["errors"]] == [
        (split["columns"][j], 0) for j in numeric
    ]
    assert all(repr(split["columns"][j]) in body["message"] for j in numeric)


@pytest.mark.parametrize(
    ("rows", "code"),
    [
        pytest.param("valid", 0, id="valid-rows-profile"),
        pytest.param("out-of-contract", 1, id="rows-the-server-refuses-are-errors"),
    ],
)
def test_profile_reports_what_the_server_would_answer(
    projects: dict[str, Path], tmp_path: Path, rows: str, code: int
) -> None:
    """A multiclass model profiles on the server's own request path; rows the server would
    refuse are reported as errors with the status, column and row, and exit 1 (not "meets")."""
    import pandas as pd

    root = projects["multiclass"]
    split = sample(root)
    frame = pd.DataFrame(split["data"], columns=split["columns"])
    if rows == "out-of-contract":
        frame["sepal_length"] = "junk"
    data = tmp_path / "rows.csv"
    frame.to_csv(data, index=False)
    done = mlplat(
        "profile",
        "--model",
        str(task_bundle(root)),
        "--data",
        str(data),
        "--seconds",
        "0.05",
        cwd=root,
    )
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == code, output
    assert "Traceback" not in output
    if code:
        assert "1-row batches: 1 of 1 calls failed: 422" in output and "'sepal_length'" in output
        assert "misses the SLO" in output
    else:
        assert "errors:" not in output and "recommendation for" in output
