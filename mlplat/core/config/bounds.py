"""Numeric bounds, declared on the dataclass field they bound and checked once at the boundary.

A field says what makes sense next to its type: `test_size: float = bounded(0.2, gt=0, lt=1)`.
The check walks the typed config, so a key added later with `bounded(...)` is checked with no
list to update, and the error names the full key and the bound it broke.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from mlplat.core.config.keys import hint
from mlplat.core.errors import ConfigError

if TYPE_CHECKING:
    from mlplat.core.config.contract import ColumnConfig

T = TypeVar("T")
BOUNDS = "mlplat.bounds"
_OPS: dict[str, tuple[Callable[[Any, Any], bool], str]] = {
    "ge": (operator.ge, ">="),
    "gt": (operator.gt, ">"),
    "le": (operator.le, "<="),
    "lt": (operator.lt, "<"),
}
NUMERIC_DTYPES = ("int", "float")  # schema dtypes whose ge/gt/le/lt/between must be numbers


@dataclass(frozen=True)
class Bounds:
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None

    def admit(self, value: float) -> bool:
        return all(
            getattr(self, name) is None or holds(value, getattr(self, name))
            for name, (holds, _) in _OPS.items()
        )

    def text(self) -> str:
        parts = [f"{_OPS[n][1]} {getattr(self, n):g}" for n in _OPS if getattr(self, n) is not None]
        return " and ".join(parts)


def bounded(
    default: T,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
) -> T:
    """A dataclass field with a default and the range its values must lie in (None: unset)."""
    found: T = field(default=default, metadata={BOUNDS: Bounds(ge, gt, le, lt)})
    return found


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _children(value: Any, key: str) -> Iterator[tuple[str, Any]]:
    if dataclasses.is_dataclass(value):
        yield key, value
    elif isinstance(value, Mapping):
        for name, item in value.items():
            if dataclasses.is_dataclass(item):
                yield f"{key}.{name}", item


def _walk(node: Any, prefix: str) -> Iterator[tuple[str, Any, Bounds]]:
    """(full key, value, bounds) of every bounded field under `node`, nested dataclasses too."""
    for spec in dataclasses.fields(node):
        key, value = f"{prefix}{spec.name}", getattr(node, spec.name)
        if BOUNDS in spec.metadata:
            yield key, value, spec.metadata[BOUNDS]
        for child_key, child in _children(value, key):
            yield from _walk(child, f"{child_key}.")


def check(config: Any, prefix: str = "") -> None:
    """Refuse the first bounded value outside its range, naming its full key."""
    for key, value, bounds in _walk(config, prefix):
        # None is "not set"; a value of another type was refused when the config was typed
        if is_number(value) and not bounds.admit(value):
            raise ConfigError(f"{value!r} is out of range: it must be {bounds.text()}", key=key)


def bounds_of(kind: type) -> dict[str, Bounds]:
    """Field name -> bounds of one dataclass (for maps keyed by its field names)."""
    return {f.name: f.metadata[BOUNDS] for f in dataclasses.fields(kind) if BOUNDS in f.metadata}


def check_column_bounds(columns: Mapping[str, ColumnConfig]) -> None:
    """A numeric column's ge/gt/le/lt/between must be numbers (other dtypes compare as declared:
    dates as timestamps, strings as strings)."""
    for name, column in columns.items():
        if column.dtype not in NUMERIC_DTYPES:
            continue
        for op in ("ge", "gt", "le", "lt", "between"):
            value = getattr(column, op)
            values = value if op == "between" and value is not None else [value]
            bad = [v for v in values if v is not None and not is_number(v)]
            if bad:
                raise ConfigError(
                    f"{bad[0]!r} is not a number, and column '{name}' is {column.dtype}",
                    key=f"schema.columns.{name}.{op}",
                )


def check_overrides(overrides: Mapping[str, Mapping[str, Any]], kind: type, prefix: str) -> None:
    """A map of per-name overrides of `kind`'s bounded fields (monitoring.feature_thresholds):
    each key must be one of those fields, each value within its bounds."""
    allowed = bounds_of(kind)
    for name, values in overrides.items():
        for key, value in values.items():
            full = f"{prefix}.{name}.{key}"
            if key not in allowed:
                raise ConfigError(f"unknown key; {hint(full, list(allowed))}", key=full)
            if is_number(value) and not allowed[key].admit(value):
                raise ConfigError(
                    f"{value!r} is out of range: it must be {allowed[key].text()}", key=full
                )
