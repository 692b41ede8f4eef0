"""The server's OpenAPI 3.1 document, with the served model's input columns as the row schema."""

from __future__ import annotations

from typing import Any

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


def document(schema: dict[str, Any], model_name: str) -> dict[str, Any]:
    declared = schema.get("columns", {})
    inputs = schema.get("input_columns") or list(declared)
    row = {
        "type": "object",
        "properties": {c: _column_schema(declared.get(c, {})) for c in inputs},
        "required": inputs,
    }
    bad = {
        "400": _error(),
        "408": _error(),
        "413": _error(),
        "415": _error(),
        "422": _error(),
        "503": _error(),
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": f"mlplat scoring server: {model_name}", "version": "1"},
        "paths": {
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
                    "responses": {
                        "200": {"description": "Predictions", **_json("Predictions")},
                        **bad,
                    },
                }
            },
            "/v2/models/{model_name}/infer": {
                "post": {
                    "summary": "Score rows (Open Inference Protocol V2)",
                    "parameters": [
                        {
                            "name": "model_name",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "requestBody": {"required": True, **_json("V2Request")},
                    "responses": {"200": {"description": "Outputs"}, "404": _error(), **bad},
                }
            },
            "/v2/models/{model_name}": {
                "get": {
                    "summary": "V2 model metadata",
                    "parameters": [
                        {
                            "name": "model_name",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {"200": {"description": "OK"}, "404": _error()},
                }
            },
            "/health": _get("Liveness"),
            "/ready": _get("Readiness: a model is loaded"),
            "/version": _get("Model name, version, run id, git sha"),
            "/metrics": _get("Prometheus metrics"),
            "/v2/health/live": _get("V2 liveness"),
            "/v2/health/ready": _get("V2 readiness"),
        },
        "components": {
            "schemas": {
                "Row": row,
                "MlflowPayload": {
                    "type": "object",
                    "oneOf": [
                        {
                            "required": ["dataframe_split"],
                            "properties": {
                                "dataframe_split": {
                                    "type": "object",
                                    "required": ["columns", "data"],
                                    "properties": {
                                        "columns": {"type": "array", "items": {"type": "string"}},
                                        "data": {"type": "array", "items": {"type": "array"}},
                                    },
                                }
                            },
                        },
                        {
                            "required": ["dataframe_records"],
                            "properties": {
                                "dataframe_records": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Row"},
                                }
                            },
                        },
                        {
                            "required": ["instances"],
                            "properties": {
                                "instances": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Row"},
                                }
                            },
                        },
                        {
                            "required": ["inputs"],
                            "properties": {
                                "inputs": {
                                    "type": "object",
                                    "additionalProperties": {"type": "array"},
                                }
                            },
                        },
                    ],
                },
                "Predictions": {
                    "type": "object",
                    "description": "binary: P(positive_class) per row; multiclass: one "
                    "probability per class in `classes` order per row, and the most probable "
                    "class in `labels`; regression: the predicted value",
                    "properties": {
                        "predictions": {
                            "type": "array",
                            "items": {
                                "oneOf": [
                                    {"type": "number"},
                                    {"type": "array", "items": {"type": "number"}},
                                ]
                            },
                        },
                        "model_version": {"type": "string"},
                        "positive_class": {"type": "string"},
                        "classes": {"type": "array", "items": {"type": "string"}},
                        "labels": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "V2Request": {
                    "type": "object",
                    "required": ["inputs"],
                    "properties": {
                        "id": {"type": "string"},
                        "inputs": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["name", "shape", "datatype", "data"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "shape": {"type": "array", "items": {"type": "integer"}},
                                    "datatype": {"type": "string", "enum": V2_DATATYPES},
                                    "data": {"type": "array"},
                                },
                            },
                        },
                    },
                },
                "Error": {
                    "type": "object",
                    "properties": {
                        "error_code": {"type": "string"},
                        "message": {"type": "string"},
                        "errors_total": {"type": "integer"},
                        "errors": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "kind": {"type": "string"},
                                    "column": {"type": ["string", "null"]},
                                    "row": {"type": ["integer", "null"]},
                                    "message": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            }
        },
    }
