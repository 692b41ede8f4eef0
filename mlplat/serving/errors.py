"""Client mistakes as data: every bad request becomes one of these, never a 500."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# MLflow's scoring server answers client errors with these codes; existing clients parse them.
MLFLOW_CODES = {
    400: "BAD_REQUEST",
    404: "RESOURCE_DOES_NOT_EXIST",
    408: "BAD_REQUEST",
    413: "BAD_REQUEST",
    415: "BAD_REQUEST",
    422: "INVALID_PARAMETER_VALUE",
    503: "TEMPORARILY_UNAVAILABLE",
}
MAX_LISTED = 100  # problems listed in one answer (every bad column is listed even past it)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request; `kind` is a stable machine-readable name for clients."""

    kind: str
    message: str
    column: str | None = None
    row: int | None = None

    def detail(self) -> dict[str, Any]:
        return {"kind": self.kind, "column": self.column, "row": self.row, "message": self.message}

    def describe(self) -> str:
        where = [
            f"{label} {value!r}"
            for label, value in (("column", self.column), ("row", self.row))
            if value is not None
        ]
        return f"{self.message} ({', '.join(where)})" if where else self.message


@dataclass
class InputError(Exception):
    """A request the server refuses: its first problem, and the others found with it."""

    status: int
    kind: str
    message: str
    column: str | None = None
    row: int | None = None
    more: tuple[Problem, ...] = ()
    total: int = 1  # problems found; more than listed when a request has very many

    @classmethod
    def of(cls, status: int, problems: list[Problem], total: int) -> InputError:
        first = problems[0]
        return cls(
            status, first.kind, first.message, first.column, first.row, tuple(problems[1:]), total
        )

    def problems(self) -> list[Problem]:
        return [Problem(self.kind, self.message, self.column, self.row), *self.more]

    def body(self) -> dict[str, Any]:
        problems = self.problems()
        out: dict[str, Any] = {
            "error_code": MLFLOW_CODES.get(self.status, "BAD_REQUEST"),
            "message": self.describe(),
            "errors": [p.detail() for p in problems],
        }
        if self.total > len(problems):
            out["errors_total"] = self.total
        return out

    def describe(self) -> str:
        first = self.problems()[0].describe()
        if self.total <= 1:
            return first
        others = list(dict.fromkeys(p.column for p in self.more if p.column is not None))
        columns = f" (columns {', '.join(map(repr, others))})" if others else ""
        return f"{first}; and {self.total - 1} more problem(s){columns}: see errors"

    def headers(self) -> list[tuple[bytes, bytes]]:
        if self.status == 408:  # a client too slow to send its body is not kept alive
            return [(b"connection", b"close")]
        if self.kind == "overloaded":  # the large requests ahead of it take seconds
            return [(b"retry-after", b"1")]
        return []


@dataclass
class Problems:
    """Collects every problem of a request; each bad column keeps its first rows up to the cap."""

    by_column: dict[str | None, list[Problem]] = field(default_factory=dict)
    total: int = 0

    def add(self, problem: Problem) -> None:
        self.total += 1
        found = self.by_column.setdefault(problem.column, [])
        if len(found) < MAX_LISTED:
            found.append(problem)

    def check(self, status: int) -> None:
        """Raise one InputError listing the first problem of every column, then the rest."""
        if not self.total:
            return
        firsts = [found[0] for found in self.by_column.values()]
        rest = [p for found in self.by_column.values() for p in found[1:]]
        listed = (firsts + rest)[: max(MAX_LISTED, len(firsts))]
        raise InputError.of(status, listed, self.total)
