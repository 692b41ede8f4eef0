"""Client mistakes as data: every bad request becomes one of these, never a 500."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# MLflow's scoring server answers client errors with these codes; existing clients parse them.
MLFLOW_CODES = {
    400: "BAD_REQUEST",
    404: "RESOURCE_DOES_NOT_EXIST",
    413: "BAD_REQUEST",
    415: "BAD_REQUEST",
    422: "INVALID_PARAMETER_VALUE",
    503: "TEMPORARILY_UNAVAILABLE",
}


@dataclass
class InputError(Exception):
    """A request the server refuses; `kind` is a stable machine-readable name for clients."""

    status: int
    kind: str
    message: str
    column: str | None = None
    row: int | None = None

    def body(self) -> dict[str, Any]:
        detail = {
            "kind": self.kind,
            "column": self.column,
            "row": self.row,
            "message": self.message,
        }
        return {
            "error_code": MLFLOW_CODES.get(self.status, "BAD_REQUEST"),
            "message": self.describe(),
            "errors": [detail],
        }

    def describe(self) -> str:
        where = [
            f"{label} {value!r}"
            for label, value in (("column", self.column), ("row", self.row))
            if value is not None
        ]
        return f"{self.message} ({', '.join(where)})" if where else self.message
