"""Request bodies -> columns: MLflow's scoring formats, CSV, and Open Inference Protocol V2.

Everything becomes `{column: [value per row]}`; the validator then checks the values against the
schema. Each shape mistake is an InputError naming the key, column or row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from mlplat.serving.errors import InputError, Problem, Problems

MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
V2_INTEGERS = {
    **{f"INT{b}": (-(2 ** (b - 1)), 2 ** (b - 1) - 1) for b in (8, 16, 32, 64)},
    **{f"UINT{b}": (0, 2**b - 1) for b in (8, 16, 32, 64)},
}
V2_FLOATS = {"FP16": 65504.0, "FP32": 3.4028234663852886e38, "FP64": float("inf")}
V2_DATATYPES = ["BOOL", *V2_INTEGERS, *V2_FLOATS, "BYTES"]


@dataclass(frozen=True)
class Table:
    columns: dict[str, list[Any]]
    n_rows: int
    text: bool = False  # CSV: every value is text and is parsed by the column's dtype


def _bad(kind: str, message: str, column: str | None = None, row: int | None = None) -> InputError:
    return InputError(400, kind, message, column=column, row=row)


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise _bad("empty_body", "the request body is empty")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _bad("malformed_json", f"the body is not valid JSON: {exc}") from None


def _split(payload: Any) -> Table:
    if not isinstance(payload, dict):
        raise _bad("bad_payload", "dataframe_split must be an object with 'columns' and 'data'")
    columns, data = payload.get("columns"), payload.get("data")
    if not isinstance(columns, list) or not set(map(type, columns)) <= {str}:
        raise _bad("bad_payload", "dataframe_split.columns must be a list of column names")
    _no_duplicates(columns)
    if not isinstance(data, list):
        raise _bad("bad_payload", "dataframe_split.data must be a list of rows")
    out: dict[str, list[Any]] = {c: [] for c in columns}
    lists = [out[c] for c in columns]
    width = len(columns)
    for row, values in enumerate(data):
        if not isinstance(values, list) or len(values) != width:
            raise _bad("row_length", f"each row must be a list of {width} values", row=row)
        for target, value in zip(lists, values, strict=True):
            target.append(value)
    return Table(out, len(data))


def _records(payload: Any, key: str) -> Table:
    if not isinstance(payload, list):
        raise _bad("bad_payload", f"{key} must be a list of objects")
    names: dict[str, None] = {}
    for row, record in enumerate(payload):
        if not isinstance(record, dict):
            raise _bad("bad_payload", f"{key} rows must be objects", row=row)
        names.update(dict.fromkeys(record))
    columns = {name: [record.get(name) for record in payload] for name in names}
    return Table(columns, len(payload))


def _columnar(payload: Mapping[str, Any], key: str) -> Table:
    lengths = set()
    for name, values in payload.items():
        if not isinstance(values, list):
            raise _bad("bad_payload", f"{key} as an object maps each column to a list", column=name)
        lengths.add(len(values))
    if len(lengths) > 1:
        raise _bad("ragged_columns", f"{key} columns have different lengths: {sorted(lengths)}")
    return Table({k: list(v) for k, v in payload.items()}, lengths.pop() if lengths else 0)


def _instances(payload: Any, key: str) -> Table:
    """TF-serving style: a list of records or an object of columns (MLflow accepts both)."""
    if isinstance(payload, dict):
        return _columnar(payload, key)
    if isinstance(payload, list) and all(isinstance(r, dict) for r in payload):
        return _records(payload, key)
    raise _bad(
        "bad_payload",
        f"{key} must be a list of objects or an object of column lists;"
        " tabular models need column names",
    )


def mlflow_table(body: bytes) -> Table:
    """MLflow's `/invocations` JSON: exactly one of the four keys (plus optional `params`)."""
    payload = parse_json(body)
    if not isinstance(payload, dict):
        raise _bad(
            "bad_payload", f"the body must be an object with one of {', '.join(MLFLOW_KEYS)}"
        )
    found = [k for k in MLFLOW_KEYS if k in payload]
    if len(found) != 1:
        extra = [k for k in payload if k not in (*MLFLOW_KEYS, "params")]
        hint = f"; unknown keys: {', '.join(extra)}" if extra else ""
        raise _bad("bad_payload", f"the body needs exactly one of {', '.join(MLFLOW_KEYS)}{hint}")
    key = found[0]
    if key == "dataframe_split":
        return _split(payload[key])
    if key == "dataframe_records":
        return _records(payload[key], key)
    return _instances(payload[key], key)


def csv_table(body: bytes) -> Table:
    """A header row, then one row per line: `\n`, `\r\n` or `\r` line endings, RFC 4180 quoting."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("bad_encoding", "CSV bodies must be UTF-8") from None
    # newline="": the csv module sees the raw line endings and splits on all three kinds
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    data: list[list[str]] = []
    try:
        for record in reader:  # a loop, not list(): the parser names the row it failed on
            if header is None:
                header = record
            elif record:
                data.append(record)
    except csv.Error as exc:
        where = "the header" if header is None else f"data row {len(data)}"
        kind = "field_too_large" if "field limit" in str(exc) else "bad_csv"
        raise _bad(kind, f"cannot read {where} of the CSV body: {exc}", row=len(data)) from None
    if not header:
        raise _bad("empty_body", "the CSV body has no header row")
    _no_duplicates(header)
    for row, values in enumerate(data):
        if len(values) != len(header):
            raise _bad("row_length", f"each CSV row must have {len(header)} fields", row=row)
    return Table(
        {name: [r[j] for r in data] for j, name in enumerate(header)}, len(data), text=True
    )


def _no_duplicates(names: list[str]) -> None:
    if len(set(names)) != len(names):
        dup = next(c for c in names if names.count(c) > 1)
        raise _bad("duplicate_column", "a column is named twice", column=dup)


def v2_table(body: bytes) -> tuple[Table, Any]:
    """Open Inference Protocol V2: one input tensor per column (shape [n] or [n, 1])."""
    payload = parse_json(body)
    inputs = payload.get("inputs") if isinstance(payload, dict) else None
    if not isinstance(inputs, list) or not inputs:
        raise _bad("bad_payload", "a V2 inference request needs a non-empty 'inputs' list")
    tensors = [_v2_tensor(tensor) for tensor in inputs]
    _no_duplicates([name for name, _, _ in tensors])
    problems = Problems()
    for name, datatype, data in tensors:
        _v2_datatype(name, datatype, data, problems)
    problems.check(400)
    table = _columnar({name: data for name, _, data in tensors}, "inputs")
    return table, payload.get("id")


def _v2_tensor(tensor: Any) -> tuple[str, str, list[Any]]:
    if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
        raise _bad("bad_payload", "each V2 input needs a 'name', 'shape', 'datatype' and 'data'")
    name, data, shape = tensor["name"], tensor.get("data"), tensor.get("shape")
    if not isinstance(data, list) or not isinstance(shape, list) or not shape:
        raise _bad("bad_payload", "a V2 input needs 'data' and 'shape' lists", column=name)
    if not isinstance(tensor.get("datatype"), str):
        raise _bad("bad_payload", "a V2 input needs a 'datatype' (FP64, BYTES...)", column=name)
    if data and isinstance(data[0], list):  # nested rows: [[v], [v]]
        data = [v[0] if isinstance(v, list) and len(v) == 1 else v for v in data]
    if shape[0] != len(data) or any(s != 1 for s in shape[1:] if isinstance(s, int)):
        raise _bad(
            "shape_mismatch", f"shape {shape} does not match {len(data)} values", column=name
        )
    return name, tensor["datatype"], data


def _fits(datatype: str) -> Callable[[Any], bool] | None:
    """Whether a JSON value belongs in a tensor of `datatype` (null: a missing value, in any)."""
    if datatype == "BOOL":
        return lambda v: v is None or type(v) is bool
    if datatype == "BYTES":
        return lambda v: v is None or type(v) is str
    if datatype in V2_INTEGERS:
        low, high = V2_INTEGERS[datatype]
        return lambda v: v is None or (type(v) is int and low <= v <= high)
    if datatype in V2_FLOATS:
        top = V2_FLOATS[datatype]
        return lambda v: v is None or ((type(v) is float or type(v) is int) and -top <= v <= top)
    return None


def _v2_datatype(name: str, datatype: str, data: list[Any], problems: Problems) -> None:
    fits = _fits(datatype)
    if fits is None:
        known = ", ".join(V2_DATATYPES)
        message = f"unknown V2 datatype {datatype!r}: use {known}"
        problems.add(Problem("bad_datatype", message, name))
        return
    for row, value in enumerate(data):
        if not fits(value):
            message = f"a {datatype} tensor cannot hold {type(value).__name__} {value!r:.40}"
            problems.add(Problem("datatype_mismatch", message, name, row))
            return  # the first bad value of each tensor


def parse_mlflow(content_type: str, body: bytes) -> tuple[Table, Any]:
    """`/invocations`: MLflow's JSON payloads or CSV, by content type."""
    kind = content_type.split(";")[0].strip().lower()
    if kind in ("application/json", "", "*/*"):
        return mlflow_table(body), None
    if kind == "text/csv":
        return csv_table(body), None
    raise InputError(
        415,
        "unsupported_media_type",
        f"content type {kind!r} is not supported; use application/json or text/csv",
    )


def parse_v2(content_type: str, body: bytes) -> tuple[Table, Any]:
    return v2_table(body)


class Protocol(StrEnum):
    """The two scoring protocols: MLflow's `/invocations` and Open Inference Protocol V2."""

    MLFLOW = "mlflow"
    V2 = "v2"


PARSERS: dict[Protocol, Callable[[str, bytes], tuple[Table, Any]]] = {
    Protocol.MLFLOW: parse_mlflow,
    Protocol.V2: parse_v2,
}
