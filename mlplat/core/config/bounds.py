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
from typing import Any, TypeVar

from mlplat.core.errors import ConfigError

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

    def broken(self, value: float) -> str | None:
        """The first bound `value` breaks, as text (`> 0`), or None."""
        for name, (holds, symbol) in _OPS.items():
            limit = getattr(self, name)
            if limit is not None and not holds(value, limit):
                return f"{symbol} {limit:g}"
        return None

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
        if value is None or not is_number(value):
            continue  # None means "not set"; a wrong type was refused when the config was typed
        broken = bounds.broken(value)
        if broken:
            raise ConfigError(f"{value!r} is out of range: it must be {bounds.text()}", key=key)


def bounds_of(kind: type) -> dict[str, Bounds]:
    """Field name -> bounds of one dataclass (for maps keyed by its field names)."""
    return {f.name: f.metadata[BOUNDS] for f in dataclasses.fields(kind) if BOUNDS in f.metadata}
