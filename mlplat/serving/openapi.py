"""The server's OpenAPI 3.1 document, with the served model's input columns as the row schema."""

from __future__ import annotations

from typing import Any

from mlplat.serving.online.outcomes import MAX_ID, MAX_OUTCOMES
from mlplat.serving.payloads import V2_DATATYPES

JSON_TYPES = {
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "str": "string",
    "category": "string",
    "datetime": "string",
}


def _column_schema(col: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": JSON_TYPES.get(col.get("dtype", "str"), "string")}
    if col.get("dtype") == "datetime":
        out["format"] = "date-time"
    if col.get("isin") is not None:
        out["enum"] = list(col["isin"])
    for op, key in (
        ("ge", "minimum"),
        ("le", "maximum"),
        ("gt", "exclusiveMinimum"),
        ("lt", "exclusiveMaximum"),
    ):
        if col.get(op) is not None and col.get("dtype") in ("int", "float"):
            out[key] = col[op]
    if col.get("between") and col.get("dtype") in ("int", "float"):
        out["minimum"], out["maximum"] = col["between"]
    if col.get("nullable"):
        out["type"] = [out["type"], "null"]
    return out


def _error() -> dict[str, Any]:
    return {
        "description": "Bad input: the body names the kind, column and row of every problem",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(ref: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _get(summary: str) -> dict[str, Any]:
    return {"get": {"summary": summary, "responses": {"200": {"description": "OK"}}}}


def _model_name_param() -> dict[str, Any]:
    return {"name": "model_name", "in": "path", "required": True, "schema": {"type": "string"}}


def _paths() -> dict[str, Any]:
    bad = {code: _error() for code in ("400", "408", "413", "415", "422", "503")}
    return {
        "/invocations": {
            "post": {
                "summary": "Score rows (MLflow scoring protocol: JSON or CSV)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/MlflowPayload"}
                        },
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                "responses": {"200": {"description": "Predictions", **_json("Predictions")}, **bad},
            }
        },
        "/v2/models/{model_name}/infer": {
            "post": {
                "summary": "Score rows (Open Inference Protocol V2)",
                "parameters": [_model_name_param()],
                "requestBody": {"required": True, **_json("V2Request")},
                "responses": {"200": {"description": "Outputs"}, "404": _error(), **bad},
            }
        },
        "/v2/models/{model_name}": {
            "get": {
                "summary": "V2 model metadata",
                "parameters": [_model_name_param()],
                "responses": {"200": {"description": "OK"}, "404": _error()},
            }
        },
        "/feedback": _feedback(),
        "/health": _get("Liveness"),
        "/ready": _get("Readiness: a model is loaded"),
        "/version": _get("Model name, version, run id, git sha"),
        "/metrics": _get("Prometheus metrics"),
        "/v2/health/live": _get("V2 liveness"),
        "/v2/health/ready": _get("V2 readiness"),
        "/online": _get("The online experiment: mode, share, canary step, both arms"),
    }


def _feedback() -> dict[str, Any]:
    refused = {"description": "No admin token set (403) or not sent as a Bearer token (401)"}
    return {
        "post": {
            "summary": "Outcomes of served requests, for the online experiment's decision",
            "security": [{"bearer": []}],
            "requestBody": {"required": True, **_json("Outcomes")},
            "responses": {
                "200": {"description": "Stored, in one file under outcomes/"},
                "401": refused,
                "403": refused,
                "404": {"description": "An id no arm of the experiment answered", **_json("Error")},
                "409": {"description": "The server runs no online experiment"},
                **{code: _error() for code in ("400", "413", "422", "503")},
            },
        }
    }


def _outcomes() -> dict[str, Any]:
    outcome = {
        "type": "object",
        "required": ["request_id", "label"],
        "additionalProperties": False,
        "properties": {
            "request_id": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_ID,
                "description": "x-request-id of the answer; `<id>/<row>` for a row of a "
                "multi-row request",
            },
            "label": {"oneOf": [{"type": "number"}, {"type": "string", "minLength": 1}]},
        },
    }
    return {
        "type": "object",
        "required": ["outcomes"],
        "properties": {
            "outcomes": {"type": "array", "minItems": 1, "maxItems": MAX_OUTCOMES, "items": outcome}
        },
    }


def _row(schema: dict[str, Any]) -> dict[str, Any]:
    """One input row: the served model's input columns, typed and bounded as the contract says."""
    declared = schema.get("columns", {})
    inputs = schema.get("input_columns") or list(declared)
    return {
        "type": "object",
        "properties": {c: _column_schema(declared.get(c, {})) for c in inputs},
        "required": inputs,
    }


def _rows_under(key: str) -> dict[str, Any]:
    rows = {"type": "array", "items": {"$ref": "#/components/schemas/Row"}}
    return {"required": [key], "properties": {key: rows}}


def _mlflow_payload() -> dict[str, Any]:
    split = {
        "type": "object",
        "required": ["columns", "data"],
        "properties": {
            "columns": {"type": "array", "items": {"type": "string"}},
            "data": {"type": "array", "items": {"type": "array"}},
        },
    }
    tensors = {"type": "object", "additionalProperties": {"type": "array"}}
    return {
        "type": "object",
        "oneOf": [
            {"required": ["dataframe_split"], "properties": {"dataframe_split": split}},
            _rows_under("dataframe_records"),
            _rows_under("instances"),
            {"required": ["inputs"], "properties": {"inputs": tensors}},
        ],
    }


def _predictions() -> dict[str, Any]:
    number = {"type": "number"}
    strings = {"type": "array", "items": {"type": "string"}}
    return {
        "type": "object",
        "description": "binary: P(positive_class) per row; multiclass: one "
        "probability per class in `classes` order per row, and the most probable "
        "class in `labels`; regression: the predicted value",
        "properties": {
            "predictions": {
                "type": "array",
                "items": {"oneOf": [number, {"type": "array", "items": number}]},
            },
            "model_version": {"type": "string"},
            "positive_class": {"type": "string"},
            "classes": strings,
            "labels": strings,
        },
    }


def _v2_request() -> dict[str, Any]:
    tensor = {
        "type": "object",
        "required": ["name", "shape", "datatype", "data"],
        "properties": {
            "name": {"type": "string"},
            "shape": {"type": "array", "items": {"type": "integer"}},
            "datatype": {"type": "string", "enum": V2_DATATYPES},
            "data": {"type": "array"},
        },
    }
    return {
        "type": "object",
        "required": ["inputs"],
        "properties": {"id": {"type": "string"}, "inputs": {"type": "array", "items": tensor}},
    }


def _error_schema() -> dict[str, Any]:
    problem = {
        "type": "object",
        "properties": {
            "kind": {"type": "string"},
            "column": {"type": ["string", "null"]},
            "row": {"type": ["integer", "null"]},
            "message": {"type": "string"},
        },
    }
    return {
        "type": "object",
        "properties": {
            "error_code": {"type": "string"},
            "message": {"type": "string"},
            "errors_total": {"type": "integer"},
            "errors": {"type": "array", "items": problem},
        },
    }


def document(schema: dict[str, Any], model_name: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": f"mlplat scoring server: {model_name}", "version": "1"},
        "paths": _paths(),
        "components": {
            "schemas": {
                "Row": _row(schema),
                "MlflowPayload": _mlflow_payload(),
                "Predictions": _predictions(),
                "V2Request": _v2_request(),
                "Error": _error_schema(),
                "Outcomes": _outcomes(),
            },
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
