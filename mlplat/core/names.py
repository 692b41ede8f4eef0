"""Conventional names derived from the user's own: our declarations are snake_case, their data
keeps its names.

A column is read by its original name everywhere data enters (schema, serving inputs); the
names mlplat makes up from it (feature and segment names, config keys, the registered-model
name) are derived here, so `F.Undergrad` becomes `f_undergrad` and `Salary` becomes `salary`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def snake(name: str) -> str:
    """A config-safe name: lower snake_case starting with a letter."""
    spaced = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
    text = re.sub(r"[^a-z0-9]+", "_", spaced).strip("_")
    return text if re.match(r"[a-z]", text) else f"x_{text}" if text else "x"


def derive(names: Iterable[str]) -> dict[str, str]:
    """Original name -> a distinct snake_case name; a clash gets a numeric suffix (`a_b`,
    `a_b_2`) in the order given, so the mapping is stable for the same columns."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        base = candidate = snake(name)
        number = 1
        while candidate in taken:
            number += 1
            candidate = f"{base}_{number}"
        taken.add(candidate)
        out[name] = candidate
    return out


def fits_pattern(name: str, pattern: str) -> bool:
    """Whether a registered-model name fits the declared `registry.name_pattern` (whole name);
    a pattern that is no regular expression is a bad declaration, named by its key."""
    from mlplat.core.errors import ConfigError

    try:
        return re.fullmatch(pattern, name) is not None
    except re.error as exc:
        raise ConfigError(
            f"registry.name_pattern is not a regular expression: {exc}", key="registry.name_pattern"
        ) from exc
