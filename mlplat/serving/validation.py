"""A fast per-value validator compiled from the bundle's schema (the same contract pandera checks).

Training validates whole frames with pandera; a request is one row or a few, where pandera's
per-call cost (milliseconds) would dominate. The declared checks are the same (dtype, nullable,
isin/notin, ge/gt/le/lt/between, str_matches, str_length); each failure names the column and row.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlplat.serving.errors import InputError, Problem, Problems

Convert = Callable[[Any], Any]
TRUE_TEXT = {"true": True, "1": True, "false": False, "0": False}


class _CheckError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _type_name(value: Any) -> str:
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "array",
        dict: "object",
    }.get(type(value), type(value).__name__)


def _wrong(value: Any, expected: str) -> _CheckError:
    return _CheckError("wrong_type", f"expected {expected}, got {_type_name(value)} {value!r:.40}")


def _to_int(value: Any, text: bool) -> int:
    if isinstance(value, bool):
        raise _wrong(value, "an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, float):
        raise _CheckError("not_integer", f"expected an integer, got {value!r}")
    if text and isinstance(value, str):
        try:
            return _to_int(
                float(value) if "." in value or "e" in value.lower() else int(value), False
            )
        except ValueError:
            pass
    raise _wrong(value, "an integer")


def _to_float(value: Any, text: bool) -> float:
    if isinstance(value, bool):
        raise _wrong(value, "a number")
    if isinstance(value, int | float):
        if math.isinf(value):
            raise _CheckError("not_finite", f"expected a finite number, got {value!r}")
        return float(value)
    if text and isinstance(value, str):
        try:
            return _to_float(float(value), False)
        except ValueError:
            pass
    raise _wrong(value, "a number")


def _to_bool(value: Any, text: bool) -> bool:
    if isinstance(value, bool):
        return value
    if text and isinstance(value, str) and value.lower() in TRUE_TEXT:
        return TRUE_TEXT[value.lower()]
    raise _wrong(value, "a boolean")


def _to_str(value: Any, text: bool) -> str:
    if isinstance(value, str):
        return value
    raise _wrong(value, "a string")


def _to_datetime(value: Any, text: bool) -> str:
    """Dates stay ISO text (what features parse); only their validity is checked here."""
    if not isinstance(value, str):
        raise _wrong(value, "an ISO-8601 date string")
    _parse_date(value)
    return value


def _parse_date(value: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(value).replace(tzinfo=None)
    except ValueError:
        raise _CheckError("bad_datetime", f"expected an ISO-8601 date, got {value!r:.40}") from None


CONVERTERS: dict[str, Callable[[Any, bool], Any]] = {
    "int": _to_int,
    "float": _to_float,
    "bool": _to_bool,
    "str": _to_str,
    "category": _to_str,
    "datetime": _to_datetime,
}


def _is_null(value: Any, text: bool) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    return text and value == ""


def _bound(value: Any, dtype: str) -> Any:
    return _parse_date(str(value)) if dtype == "datetime" else value


def _range_checks(col: Mapping[str, Any]) -> list[Callable[[Any], None]]:
    dtype = col.get("dtype", "str")
    limits: list[tuple[str, Any]] = [(op, col.get(op)) for op in ("ge", "gt", "le", "lt")]
    if col.get("between"):
        limits += [("ge", col["between"][0]), ("le", col["between"][1])]
    tests = {
        "ge": lambda v, b: v >= b,
        "gt": lambda v, b: v > b,
        "le": lambda v, b: v <= b,
        "lt": lambda v, b: v < b,
    }
    symbols = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    checks: list[Callable[[Any], None]] = []
    for op, raw in limits:
        if raw is None:
            continue
        bound = _bound(raw, dtype)

        def check(v: Any, op: str = op, bound: Any = bound, raw: Any = raw) -> None:
            actual = _parse_date(v) if dtype == "datetime" else v
            if not tests[op](actual, bound):
                raise _CheckError("out_of_range", f"value {v!r} is not {symbols[op]} {raw!r}")

        checks.append(check)
    return checks


def _set_checks(col: Mapping[str, Any]) -> list[Callable[[Any], None]]:
    checks: list[Callable[[Any], None]] = []
    if col.get("isin") is not None:
        allowed = set(col["isin"])

        def isin(v: Any) -> None:
            if v not in allowed:
                raise _CheckError(
                    "unknown_category", f"{v!r:.40} is not one of {sorted(map(str, allowed))}"
                )

        checks.append(isin)
    if col.get("notin"):
        forbidden = set(col["notin"])

        def notin(v: Any) -> None:
            if v in forbidden:
                raise _CheckError("forbidden_value", f"{v!r:.40} is a forbidden value")

        checks.append(notin)
    return checks


def _string_checks(col: Mapping[str, Any]) -> list[Callable[[Any], None]]:
    checks: list[Callable[[Any], None]] = []
    if col.get("str_matches"):
        pattern = re.compile(col["str_matches"])

        def matches(v: Any) -> None:
            if not pattern.match(v):
                raise _CheckError(
                    "pattern_mismatch", f"{v!r:.40} does not match {pattern.pattern!r}"
                )

        checks.append(matches)
    length = col.get("str_length") or {}
    if length.get("min") is not None or length.get("max") is not None:
        low, high = length.get("min") or 0, length.get("max") or math.inf

        def sized(v: Any) -> None:
            if not low <= len(v) <= high:
                raise _CheckError("bad_length", f"length {len(v)} is outside [{low}, {high}]")

        checks.append(sized)
    return checks


@dataclass(frozen=True)
class ColumnRule:
    name: str
    dtype: str
    nullable: bool
    required: bool
    checks: tuple[Callable[[Any], None], ...]
    screen: Callable[[Sequence[Any]], bool] | None = None
    quick: Callable[[Any], bool] = lambda value: False

    def convert(self, value: Any, text: bool) -> Any:
        if _is_null(value, text):
            if not self.nullable:
                raise _CheckError("null_not_allowed", "null where the schema does not allow one")
            return None
        typed = CONVERTERS[self.dtype](value, text)
        for check in self.checks:
            check(typed)
        return typed


SCREEN_ROWS = 8  # below this, value-by-value is cheaper than the whole-column screen
FAST_TYPES: dict[str, set[type]] = {
    "int": {int},
    "float": {int, float},
    "bool": {bool},
    "str": {str},
    "category": {str},
}


def _screen(col: Mapping[str, Any], dtype: str) -> Callable[[Sequence[Any]], bool] | None:
    """A whole-column check at C speed (set/min/max/sum builtins) for the common, valid case.

    True means every value is valid as it is; False means "look value by value", which finds and
    names the offending row. Regex and length checks always go value by value.
    """
    types: set[type] | None = FAST_TYPES.get(dtype)
    if types is None or col.get("str_matches") or col.get("str_length"):
        return None
    between = col.get("between") or [None, None]
    lows = [b for b in (col.get("ge"), between[0]) if b is not None]
    highs = [b for b in (col.get("le"), between[1]) if b is not None]
    low, high = (max(lows) if lows else None), (min(highs) if highs else None)
    above, below = col.get("gt"), col.get("lt")
    allowed = set(col["isin"]) if col.get("isin") is not None else None
    forbidden = set(col["notin"]) if col.get("notin") else None
    numeric = dtype in ("int", "float")

    def screen(values: Sequence[Any]) -> bool:
        if not set(map(type, values)) <= types:
            return False
        if numeric:
            total = sum(values)
            if total != total or not math.isfinite(total):  # a NaN or an infinity somewhere
                return False
            lo, hi = min(values), max(values)
            if (low is not None and lo < low) or (high is not None and hi > high):
                return False
            if (above is not None and lo <= above) or (below is not None and hi >= below):
                return False
        if allowed is not None and not allowed.issuperset(values):
            return False
        return not (forbidden and not forbidden.isdisjoint(values))

    return screen


def _quick(col: Mapping[str, Any], dtype: str) -> Callable[[Any], bool]:
    """One call per value that says "valid as it is" for the common case; False means: look closer
    (convert, or name the problem). Only the cheap, common checks are inlined here."""
    never: Callable[[Any], bool] = lambda value: False  # noqa: E731
    if col.get("notin") or col.get("str_matches") or col.get("str_length"):
        return never
    allowed = frozenset(col["isin"]) if col.get("isin") is not None else None
    if dtype in ("str", "category"):
        return (
            (lambda v: type(v) is str)
            if allowed is None
            else (lambda v: type(v) is str and v in allowed)
        )
    if dtype == "bool":
        return (lambda v: type(v) is bool) if allowed is None else never
    if dtype not in ("int", "float") or allowed is not None:
        return never
    between = col.get("between") or [None, None]
    lows = [b for b in (col.get("ge"), between[0]) if b is not None]
    highs = [b for b in (col.get("le"), between[1]) if b is not None]
    low, high = max(lows, default=-math.inf), min(highs, default=math.inf)
    above = -math.inf if col.get("gt") is None else col["gt"]
    below = math.inf if col.get("lt") is None else col["lt"]
    if dtype == "int":
        return lambda v: type(v) is int and low <= v <= high and above < v < below
    # NaN fails every comparison and infinities fail the strict ones: both take the slow path.
    return lambda v: (type(v) is float or type(v) is int) and low <= v <= high and above < v < below


def compile_rule(name: str, col: Mapping[str, Any]) -> ColumnRule:
    if col.get("unseen") == "unknown":  # any value passes; the features bucket unseen ones
        col = {**col, "isin": None}
    dtype = col.get("dtype", "str")
    if dtype not in CONVERTERS:
        dtype = "str"
    checks = _range_checks(col) + _set_checks(col)
    if dtype in ("str", "category"):
        checks += _string_checks(col)
    return ColumnRule(
        name,
        dtype,
        bool(col.get("nullable")),
        col.get("required", True) is not False,
        tuple(checks),
        _screen(col, dtype),
        _quick(col, dtype),
    )


@dataclass(frozen=True)
class Validator:
    """Raw columns in, typed columns out (input columns only), or one InputError listing every
    bad column (and its bad rows, up to a cap)."""

    rules: tuple[ColumnRule, ...]
    known: frozenset[str]
    strict: bool
    max_rows: int

    def validate(
        self, columns: Mapping[str, Sequence[Any]], n_rows: int, text: bool
    ) -> dict[str, list]:
        if n_rows == 0:
            raise InputError(400, "empty_batch", "the request has no rows")
        if n_rows > self.max_rows:
            raise InputError(
                413, "too_many_rows", f"{n_rows} rows is over the limit of {self.max_rows}"
            )
        problems = Problems()
        if self.strict and not self.known.issuperset(columns):
            self._no_unknown(columns, problems)
        out = {}
        small = n_rows <= SCREEN_ROWS and not text
        for rule in self.rules:  # the valid-as-is case inline: this runs per column per request
            values = columns.get(rule.name)
            if small and values is not None and all(map(rule.quick, values)):
                out[rule.name] = values if isinstance(values, list) else list(values)
            else:
                out[rule.name] = self._column(rule, values, n_rows, text, problems)
        problems.check(422)
        return out

    def _no_unknown(self, columns: Mapping[str, Sequence[Any]], problems: Problems) -> None:
        for name in columns:
            if name not in self.known:
                problems.add(
                    Problem("unknown_column", "the schema does not declare this column", name)
                )

    @staticmethod
    def _column(
        rule: ColumnRule, values: Sequence[Any] | None, n: int, text: bool, problems: Problems
    ) -> list:
        if values is None:
            if rule.required or not rule.nullable:
                problems.add(
                    Problem("missing_column", "a required input column is missing", rule.name)
                )
            return [None] * n
        if (
            not text
            and rule.screen is not None
            and len(values) > SCREEN_ROWS
            and rule.screen(values)
        ):
            return list(values)
        quick = rule.quick
        if not text and all(map(quick, values)):
            return list(values)
        out = []
        convert = rule.convert
        for row, value in enumerate(values):
            try:
                out.append(value if not text and quick(value) else convert(value, text))
            except _CheckError as bad:
                problems.add(Problem(bad.kind, str(bad), rule.name, row))
                out.append(None)
        return out


def compile_schema(schema: Mapping[str, Any], max_rows: int = 100_000) -> Validator:
    """Rules for the columns the features read; other declared columns are accepted and ignored."""
    declared = schema.get("columns", {})
    inputs = schema.get("input_columns") or list(declared)
    rules = tuple(
        compile_rule(name, declared.get(name, {"dtype": "float", "nullable": True}))
        for name in inputs
    )
    return Validator(
        rules, frozenset(declared) | frozenset(inputs), bool(schema.get("strict")), max_rows
    )
