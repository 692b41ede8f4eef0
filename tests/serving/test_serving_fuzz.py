"""Hypothesis against the server's own OpenAPI document: no request body produces a 5xx."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.serving_support import bundle_dir, request, running_server, shared_project

pytestmark = pytest.mark.slow  # a real server on a trained bundle

EXAMPLES = 150
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    root = shared_project(tmp_path_factory)
    with running_server(root, "--model", str(bundle_dir(root)), "--poll-interval", "0") as (
        _,
        port,
    ):
        yield port


@pytest.fixture(scope="module")
def document(server: int) -> dict[str, Any]:
    return json.loads(request(server, "GET", "/openapi.json")[2])


def value_for(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A valid value for the column's JSON schema, or (often) anything at all."""
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    valid: list[st.SearchStrategy[Any]] = []
    if "enum" in schema:
        valid.append(st.sampled_from(schema["enum"]))
    for kind in kinds:
        if kind == "integer":
            valid.append(st.integers(schema.get("minimum", -10), schema.get("maximum", 1000)))
        elif kind == "number":
            valid.append(st.floats(schema.get("minimum", -10), schema.get("maximum", 1e6)))
        elif kind == "boolean":
            valid.append(st.booleans())
        elif kind == "string" and schema.get("format") == "date-time":
            valid.append(st.dates().map(str))
        elif kind == "null":
            valid.append(st.none())
    return st.one_of(*valid, JSON_VALUES) if valid else JSON_VALUES


def rows(document: dict[str, Any]) -> st.SearchStrategy[list[dict[str, Any]]]:
    props = document["components"]["schemas"]["Row"]["properties"]
    row = st.fixed_dictionaries({}, optional={k: value_for(v) for k, v in props.items()})
    return st.lists(row, min_size=0, max_size=4)


def bodies(document: dict[str, Any]) -> st.SearchStrategy[tuple[str, Any]]:
    """Bodies for every POST operation of the document, shaped like its request schemas."""
    records = rows(document)
    mlflow = st.one_of(
        records.map(lambda r: {"dataframe_records": r}),
        records.map(lambda r: {"instances": r}),
        records.map(
            lambda r: {
                "dataframe_split": {
                    "columns": sorted({k for x in r for k in x}),
                    "data": [list(x.values()) for x in r],
                }
            }
        ),
        st.dictionaries(
            st.sampled_from(["inputs", "instances", "dataframe_split", "params", "x"]),
            JSON_VALUES,
            max_size=2,
        ),
        JSON_VALUES,
    )
    v2 = st.one_of(
        records.map(
            lambda r: {
                "inputs": [
                    {
                        "name": k,
                        "shape": [len(r)],
                        "datatype": "BYTES",
                        "data": [x.get(k) for x in r],
                    }
                    for k in {k for x in r for k in x}
                ]
            }
        ),
        st.dictionaries(st.sampled_from(["inputs", "id", "parameters"]), JSON_VALUES, max_size=2),
    )
    assert {"/invocations", "/v2/models/{model_name}/infer"} <= set(document["paths"])
    return st.one_of(
        mlflow.map(lambda b: ("/invocations", b)),
        v2.map(lambda b: ("/v2/models/telco-churn-lgbm/infer", b)),
    )


def test_no_5xx_for_any_body(server: int, document: dict[str, Any]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=30)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(bodies(document))
    def check(case: tuple[str, Any]) -> None:
        path, body = case
        conn.request(
            "POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"}
        )
        response = conn.getresponse()
        payload = response.read()
        assert response.status < 500, (body, payload)
        if response.status >= 400:
            assert "error_code" in json.loads(payload)

    try:
        check()
    finally:
        conn.close()
