"""A real `mlplat serve` on a trained bundle: every payload format, each bad input kind, metrics."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serving_support import (
    bundle_dir,
    request,
    running_server,
    sample_split,
    score,
    shared_project,
)

pytestmark = pytest.mark.slow  # a real server on a trained bundle


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_project(tmp_path_factory)


@pytest.fixture(scope="module")
def server(root: Path) -> Iterator[int]:
    with running_server(
        root,
        "--model",
        str(bundle_dir(root)),
        "--poll-interval",
        "0",
        "serving.max_payload_bytes=200000",
        "serving.max_batch_rows=500",
    ) as (_, port):
        yield port


@pytest.fixture(scope="module")
def split(root: Path) -> dict[str, Any]:
    return sample_split(root, rows=3)


@pytest.fixture(scope="module")
def expected(server: int, split: dict[str, Any]) -> list[float]:
    status, body = score(server, {"dataframe_split": split})
    assert status == 200, body
    return body["predictions"]


def records(split: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(zip(split["columns"], row, strict=True)) for row in split["data"]]


def columnar(split: dict[str, Any]) -> dict[str, list[Any]]:
    return {c: [row[j] for row in split["data"]] for j, c in enumerate(split["columns"])}


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda s: {"dataframe_records": records(s)}, id="dataframe_records"),
        pytest.param(lambda s: {"instances": records(s)}, id="instances-records"),
        pytest.param(lambda s: {"instances": columnar(s)}, id="instances-columns"),
        pytest.param(lambda s: {"inputs": columnar(s)}, id="inputs"),
        pytest.param(lambda s: {"dataframe_split": s, "params": {}}, id="split-with-params"),
    ],
)
def test_every_mlflow_json_format_gives_the_same_predictions(server, split, expected, make) -> None:
    status, body = score(server, make(split))
    assert status == 200, body
    assert body["predictions"] == pytest.approx(expected)


def test_predictions_match_the_bundle_scored_by_training_code(root, split, expected) -> None:
    """The fast path (fastfeatures + record validator) agrees with Bundle.predict (pandas)."""
    import pandas as pd

    from mlplat.core.bundle import load_bundle

    frame = pd.DataFrame(split["data"], columns=split["columns"])
    assert load_bundle(bundle_dir(root)).predict(frame).tolist() == pytest.approx(expected)


def _csv(split: dict[str, Any]) -> str:
    lines = [",".join(split["columns"])]
    for row in split["data"]:
        lines.append(
            ",".join(
                "" if v is None else str(v).lower() if isinstance(v, bool) else str(v) for v in row
            )
        )
    return "\n".join(lines) + "\n"


def test_csv(server, split, expected) -> None:
    status, _, body = request(
        server, "POST", "/invocations", _csv(split), {"Content-Type": "text/csv"}
    )
    assert status == 200, body
    assert json.loads(body)["predictions"] == pytest.approx(expected)


def v2_inputs(port: int, split: dict[str, Any]) -> list[dict[str, Any]]:
    """One tensor per column, typed as the server's V2 metadata declares (as a client would)."""
    status, _, meta = request(port, "GET", "/v2/models/telco-churn-lgbm")
    assert status == 200, meta
    types = {i["name"]: i["datatype"] for i in json.loads(meta)["inputs"]}
    return [
        {"name": c, "shape": [len(v)], "datatype": types[c], "data": v}
        for c, v in columnar(split).items()
        if c in types
    ]


def test_v2_infer_metadata_and_ready(server, split, expected) -> None:
    inputs = v2_inputs(server, split)
    status, body = score(
        server, {"id": "r1", "inputs": inputs}, "/v2/models/telco-churn-lgbm/infer"
    )
    assert status == 200, body
    assert body["id"] == "r1" and body["outputs"][0]["data"] == pytest.approx(expected)
    assert body["outputs"][0]["parameters"] == {"positive_class": "1"}
    cols = columnar(split)
    status, _, meta = request(server, "GET", "/v2/models/telco-churn-lgbm")
    assert status == 200 and {i["name"] for i in json.loads(meta)["inputs"]} == set(cols)
    assert request(server, "GET", "/v2/models/telco-churn-lgbm/ready")[0] == 200
    assert score(server, {"inputs": inputs}, "/v2/models/other/infer")[0] == 404


def test_health_ready_version_openapi(server) -> None:
    assert request(server, "GET", "/health")[0] == 200
    status, _, body = request(server, "GET", "/version")
    info = json.loads(body)
    assert (
        status == 200
        and info["model_name"] == "telco-churn-lgbm"
        and len(info["bundle_sha256"]) == 64
    )
    doc = json.loads(request(server, "GET", "/openapi.json")[2])
    assert (
        "/invocations" in doc["paths"]
        and "region" in doc["components"]["schemas"]["Row"]["properties"]
    )


def _with(split: dict[str, Any], column: str, value: Any, row: int = 1) -> dict[str, Any]:
    out = copy.deepcopy(split)
    out["data"][row][out["columns"].index(column)] = value
    return {"dataframe_split": out}


def _without(split: dict[str, Any], column: str) -> dict[str, Any]:
    j = split["columns"].index(column)
    return {
        "dataframe_split": {
            "columns": [c for c in split["columns"] if c != column],
            "data": [r[:j] + r[j + 1 :] for r in split["data"]],
        }
    }


BAD = [  # (id, payload builder, status, kind, column, row)
    ("missing-column", lambda s: _without(s, "plan"), 422, "missing_column", "plan", None),
    (
        "wrong-type-number",
        lambda s: _with(s, "monthly_charges", "cheap"),
        422,
        "wrong_type",
        "monthly_charges",
        1,
    ),
    ("wrong-type-string", lambda s: _with(s, "region", 7), 422, "wrong_type", "region", 1),
    (
        "wrong-type-bool",
        lambda s: _with(s, "paperless_billing", "yes"),
        422,
        "wrong_type",
        "paperless_billing",
        1,
    ),
    (
        "wrong-type-object",
        lambda s: _with(s, "num_lines", {"a": 1}),
        422,
        "wrong_type",
        "num_lines",
        1,
    ),
    # found by the hypothesis test: an unhashable value in a column with `isin`
    ("list-in-category", lambda s: _with(s, "region", []), 422, "wrong_type", "region", 1),
    ("not-integer", lambda s: _with(s, "num_lines", 2.5), 422, "not_integer", "num_lines", 1),
    (
        "unknown-category",
        lambda s: _with(s, "plan", "platinum", 2),
        422,
        "unknown_category",
        "plan",
        2,
    ),
    (
        "null-not-allowed",
        lambda s: _with(s, "contract", None, 0),
        422,
        "null_not_allowed",
        "contract",
        0,
    ),
    ("out-of-range", lambda s: _with(s, "num_lines", 99), 422, "out_of_range", "num_lines", 1),
    (
        "negative-charges",
        lambda s: _with(s, "monthly_charges", -5.0),
        422,
        "out_of_range",
        "monthly_charges",
        1,
    ),
    (
        "bad-datetime",
        lambda s: _with(s, "signup_date", "last tuesday"),
        422,
        "bad_datetime",
        "signup_date",
        1,
    ),
    (
        "date-out-of-range",
        lambda s: _with(s, "signup_date", "1999-01-01"),
        422,
        "out_of_range",
        "signup_date",
        1,
    ),
    (
        "unknown-column",
        lambda s: {
            "dataframe_split": {
                "columns": [*s["columns"], "shoe_size"],
                "data": [[*r, 42] for r in s["data"]],
            }
        },
        422,
        "unknown_column",
        "shoe_size",
        None,
    ),
    (
        "duplicate-column",
        lambda s: {
            "dataframe_split": {
                "columns": [*s["columns"], "plan"],
                "data": [[*r, "basic"] for r in s["data"]],
            }
        },
        400,
        "duplicate_column",
        "plan",
        None,
    ),
    (
        "row-length",
        lambda s: {"dataframe_split": {"columns": s["columns"], "data": [s["data"][0][:-1]]}},
        400,
        "row_length",
        None,
        0,
    ),
    (
        "empty-batch",
        lambda s: {"dataframe_split": {"columns": s["columns"], "data": []}},
        400,
        "empty_batch",
        None,
        None,
    ),
    ("no-payload-key", lambda s: {"rows": s["data"]}, 400, "bad_payload", None, None),
    ("two-payload-keys", lambda s: {"inputs": {}, "instances": []}, 400, "bad_payload", None, None),
    (
        "ragged-columns",
        lambda s: {"inputs": {"plan": ["basic"], "region": []}},
        400,
        "ragged_columns",
        None,
        None,
    ),
    ("records-not-objects", lambda s: {"dataframe_records": [[1, 2]]}, 400, "bad_payload", None, 0),
    (
        "too-many-rows",
        lambda s: {"dataframe_split": {"columns": s["columns"], "data": s["data"][:1] * 501}},
        413,
        "too_many_rows",
        None,
        None,
    ),
]


@pytest.mark.parametrize(
    ("make", "status", "kind", "column", "row"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD],
)
def test_bad_input_is_a_4xx_naming_column_and_row(
    server, split, make, status, kind, column, row
) -> None:
    got, body = score(server, make(split))
    assert got == status, body
    error = body["errors"][0]
    assert (error["kind"], error["column"], error["row"]) == (kind, column, row)
    if column:
        assert repr(column) in body["message"]


@pytest.mark.parametrize(
    ("body", "headers", "status", "kind"),
    [
        pytest.param(
            b'{"dataframe_split": ',
            {"Content-Type": "application/json"},
            400,
            "malformed_json",
            id="malformed-json",
        ),
        pytest.param(b"", {"Content-Type": "application/json"}, 400, "empty_body", id="empty-body"),
        pytest.param(
            b"[1, 2]", {"Content-Type": "application/json"}, 400, "bad_payload", id="not-an-object"
        ),
        pytest.param(b"a,b\n1", {"Content-Type": "text/csv"}, 400, "row_length", id="ragged-csv"),
        pytest.param(
            b"\xff\xfe", {"Content-Type": "text/csv"}, 400, "bad_encoding", id="csv-not-utf8"
        ),
        pytest.param(
            b"x=1",
            {"Content-Type": "application/xml"},
            415,
            "unsupported_media_type",
            id="media-type",
        ),
        pytest.param(
            b" " * 200_001,
            {"Content-Type": "application/json"},
            413,
            "payload_too_large",
            id="too-large",
        ),
    ],
)
def test_bad_bodies(server, body, headers, status, kind) -> None:
    got, _, raw = request(server, "POST", "/invocations", body, headers)
    assert got == status
    assert json.loads(raw)["errors"][0]["kind"] == kind


def test_unknown_route_and_method_are_json_4xx(server) -> None:
    assert request(server, "GET", "/nope")[0] == 404
    assert request(server, "GET", "/invocations")[0] == 405


def _metric(text: str, name: str, labels: str = "") -> float:
    found = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def test_metrics_count_requests_rows_and_predictions(server, split) -> None:
    before = request(server, "GET", "/metrics")[2].decode()
    for _ in range(3):
        assert score(server, {"dataframe_split": split})[0] == 200
    assert score(server, _with(split, "plan", "platinum"))[0] == 422
    after = request(server, "GET", "/metrics")[2].decode()
    ok = '{endpoint="invocations",status="200"}'
    bad = '{endpoint="invocations",status="422"}'
    assert (
        _metric(after, "mlplat_requests_total", ok) - _metric(before, "mlplat_requests_total", ok)
        == 3
    )
    assert (
        _metric(after, "mlplat_requests_total", bad) - _metric(before, "mlplat_requests_total", bad)
        == 1
    )
    assert (
        _metric(after, "mlplat_payload_rows_sum") - _metric(before, "mlplat_payload_rows_sum") == 9
    )
    assert (
        _metric(after, "mlplat_prediction_count") - _metric(before, "mlplat_prediction_count") == 9
    )
    assert _metric(after, "mlplat_requests_in_flight") == 0
    assert "mlplat_model_info{" in after and 'model_name="telco-churn-lgbm"' in after


def test_bench_exits_1_on_an_slo_breach(server, split, tmp_path) -> None:
    """`mlplat bench --slo` reads conf/serving's SLO; an impossible QPS floor is a breach."""
    from tests.conftest import make_project, mlplat

    project = make_project(tmp_path / "proj", rows=200)
    serving = project / "conf" / "serving" / "default.yaml"
    serving.write_text(serving.read_text().replace("min_qps: 100", "min_qps: 1000000000"))
    payload = tmp_path / "one.json"
    payload.write_text(json.dumps({"dataframe_split": split}))
    url = f"http://127.0.0.1:{server}/invocations"
    args = (
        "bench",
        "--url",
        url,
        "--payload",
        str(payload),
        "--duration",
        "1",
        "--concurrency",
        "2",
    )
    met = mlplat(*args, cwd=project)
    assert met.returncode == 0, met.stdout + met.stderr
    breached = mlplat(*args, "--slo", cwd=project)
    assert breached.returncode == 1 and "SLO breach" in breached.stderr + breached.stdout


def test_bench_at_a_fixed_rate(server, split, tmp_path) -> None:
    """`mlplat bench --rate`: the open loop holds a rate far below the server's saturation and
    reports it beside the one asked for."""
    from tests.conftest import make_project, mlplat

    project = make_project(tmp_path / "proj", rows=200)
    payload = tmp_path / "one.json"
    payload.write_text(json.dumps({"dataframe_split": split}))
    url = f"http://127.0.0.1:{server}/invocations"
    args = ("--url", url, "--payload", str(payload), "--duration", "2", "--rate", "100")
    done = mlplat("bench", *args, "--json", cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    found = json.loads(done.stdout)
    assert found["rate"] == 100 and found["errors"] == 0 and found["unsent"] <= 2, found
    assert found["requests"] == 200 - found["unsent"] and 98 <= found["achieved_rate"] <= 100
