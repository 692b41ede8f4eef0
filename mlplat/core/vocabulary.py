"""The closed vocabularies of a declaration and of a verdict, defined once.

StrEnums: a member equals its value (`Task.BINARY == "binary"`), so configs, JSON files and
MLflow tags keep their plain strings, while code names the words it means and a typo is an
AttributeError, not a branch that never runs.
"""

from __future__ import annotations

from enum import StrEnum


class Task(StrEnum):
    BINARY = "binary"
    MULTICLASS = "multiclass"
    REGRESSION = "regression"


class Engine(StrEnum):
    """Where the train stage fits the model (mlplat.stages.train dispatches on these)."""

    LOCAL = "local"
    DASK = "dask"


class SplitStrategy(StrEnum):
    STRATIFIED = "stratified"
    RANDOM = "random"
    TIME = "time"
    GROUP = "group"


class BudgetPolicy(StrEnum):
    """What a breached budget does: fail the run, warn, or stop training early (time only)."""

    FAIL = "fail"
    WARN = "warn"
    STOP_EARLY = "stop_early"


class GateStatus(StrEnum):
    """A gate's verdict; `warn` is a miss within the interval, `skip` a gate with nothing to
    judge (no champion yet, a thin slice)."""

    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    SKIP = "skip"


def choices(vocabulary: type[StrEnum]) -> str:
    """The words, as an error message lists them."""
    return ", ".join(member.value for member in vocabulary)


def knows(vocabulary: type[StrEnum], value: object) -> bool:
    return value in {member.value for member in vocabulary}
