"""Does a new version accept what the clients of the served one send? Compared on the compiled
validators, so it sees exactly the columns, types and nullability that requests are checked by.

Checked: a column that becomes required (new, or optional before), a column that no longer takes
null, a changed type (int -> float excepted: every int a client sends is still a valid float),
and, under a strict schema, a column no longer declared. Narrower value checks (`isin`, ranges,
patterns) are not compared: clients that stay inside them are unaffected.
"""

from __future__ import annotations

from enum import StrEnum

from mlplat.serving.validation import ColumnRule, Validator

WIDENINGS = {("int", "float")}


class SchemaChange(StrEnum):
    """`serving.schema_change`: what a server does with a version that breaks its clients."""

    refuse = "refuse"  # keep serving the old version; /version and the metrics say why
    warn = "warn"  # swap it in, with a loud warning and mlplat_model_schema_changes_total


def _column_breaks(before: ColumnRule | None, rule: ColumnRule) -> list[str]:
    name = rule.name
    if before is None:
        needed = rule.required or not rule.nullable
        return [f"new required column '{name}'"] if needed else []
    found = []
    if before.dtype != rule.dtype and (before.dtype, rule.dtype) not in WIDENINGS:
        found.append(f"column '{name}' changed type from {before.dtype} to {rule.dtype}")
    if before.nullable and not rule.nullable:
        found.append(f"column '{name}' no longer accepts null")
    elif rule.required and not before.required:
        found.append(f"column '{name}' is now required")
    return found


def schema_breaks(old: Validator, new: Validator) -> list[str]:
    """What clients of `old` may send that `new` refuses, one line per problem; [] if nothing."""
    before = {rule.name: rule for rule in old.rules}
    found = [line for rule in new.rules for line in _column_breaks(before.get(rule.name), rule)]
    if new.strict:
        found += [
            f"column '{name}' is no longer accepted (the new schema is strict)"
            for name in sorted(old.known - new.known)
        ]
    return found
