"""The target: which task it is, its labels, the positive class, and its encoding.

One place decides these for `mlplat init` (which writes them to conf/) and for the run (the
featurize stage writes the target spec into `feature_spec["target"]`; training, evaluation, gates
and serving read it from there). Labels are strings, in encoded order: the encoded target of a row
is the index of its label in `classes` (binary: `[negative, positive]`, so 1.0 is the positive
class). A regression target is the number itself.

The rules, documented in docs/getting-started.md:

- task: two distinct values of any type -> binary; more, when they are not all integers, or
  integers with at most `MAX_CLASSES` values -> multiclass; numbers with more values, or any
  non-integer number -> regression.
- positive class: `1` against `0` or `-1`; else the one label whose name says it is the event
  (yes, true, churn, default, ...), or the other one when exactly one says it is not (no, false,
  ...); else the minority class (ties: the label that sorts last).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from mlplat.core.errors import ConfigError, DataValidationError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MISSING_TARGET = ("drop", "fail")  # data.missing_target
MAX_CLASSES = 20  # integer targets with more distinct values are a regression
SHOWN = 8  # labels named in an error message
POSITIVE_NAMES = frozenset(
    {
        *("yes", "y", "true", "t", "positive", "pos", "event", "churn", "churned"),
        *("default", "defaulted", "fraud", "fraudulent", "spam", "bad", "fail", "failed"),
        *("failure", "malignant", "sick", "disease", "diseased", "abnormal", "anomaly"),
    }
)
NEGATIVE_NAMES = frozenset(
    {
        *("no", "n", "false", "f", "negative", "neg", "none", "no_event", "no_churn"),
        *("not_churned", "no_default", "non_default", "not_fraud", "legit", "legitimate", "ham"),
        *("good", "pass", "passed", "benign", "healthy", "normal", "ok"),
    }
)


class Task(StrEnum):
    BINARY = "binary"
    MULTICLASS = "multiclass"
    REGRESSION = "regression"


# LightGBM's objectives (with their documented aliases) that fit each task; a ranking or custom
# objective fits none of them
OBJECTIVES = {
    Task.BINARY: frozenset(
        {"binary", "cross_entropy", "xentropy", "cross_entropy_lambda", "xentlambda"}
    ),
    Task.MULTICLASS: frozenset(
        {"multiclass", "softmax", "multiclassova", "multiclass_ova", "ova", "ovr"}
    ),
    Task.REGRESSION: frozenset(
        {
            *("regression", "regression_l2", "l2", "mean_squared_error", "mse", "l2_root"),
            *("root_mean_squared_error", "rmse", "regression_l1", "l1", "mean_absolute_error"),
            *("mae", "huber", "fair", "poisson", "quantile", "mape", "gamma", "tweedie"),
            "mean_absolute_percentage_error",
        }
    ),
}


def label_text(value: Any) -> str:
    """A target value as its label: integral numbers without a decimal point (a 0/1 column read
    as floats because it has gaps is still `0`/`1`), everything else as `str` writes it."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return label_text(value.item())
    return str(value)


def _distinct(values: pd.Series) -> tuple[list[str], list[int]]:
    """The labels of the non-missing values (in order of first appearance) and their counts."""
    counts = values.dropna().value_counts(sort=False)
    merged: dict[str, int] = {}
    for value, count in counts.items():
        key = label_text(value)
        merged[key] = merged.get(key, 0) + int(count)
    return list(merged), list(merged.values())


def _number(label: str) -> float | None:
    try:
        return float(label)
    except ValueError:
        return None


def sorted_labels(labels: list[str]) -> list[str]:
    """Numbers in numeric order (2 before 10), then text in text order."""
    return sorted(labels, key=lambda s: (_number(s) is None, _number(s) or 0.0, s))


def _is_numeric(values: pd.Series) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _integral(values: pd.Series) -> bool:
    import numpy as np

    present = values.dropna().to_numpy(dtype="float64")
    return bool(np.all(np.isfinite(present) & (present == np.round(present))))


def infer_task(values: pd.Series) -> Task:
    """The task a target asks for (the rule in the module docstring)."""
    labels, _ = _distinct(values)
    if len(labels) < 2:
        shown = f" ('{labels[0]}')" if labels else ""
        raise ConfigError(
            f"target '{values.name}' has {len(labels)} distinct value{shown}: nothing to learn",
            key="data.target",
        )
    if len(labels) == 2:
        return Task.BINARY
    if not _is_numeric(values) or (_integral(values) and len(labels) <= MAX_CLASSES):
        return Task.MULTICLASS
    return Task.REGRESSION


def _name(label: str) -> str:
    return re.sub(r"[\s\-]+", "_", label.strip().lower())


def positive_class(labels: list[str], counts: list[int]) -> str:
    """The positive one of two labels (the rule in the module docstring)."""
    numbers = {_number(s) for s in labels}
    if 1.0 in numbers and numbers & {0.0, -1.0}:
        return next(s for s in labels if _number(s) == 1.0)
    for names, pick_other in ((POSITIVE_NAMES, False), (NEGATIVE_NAMES, True)):
        named = [s for s in labels if _name(s) in names]
        if len(named) == 1:
            return next(s for s in labels if s != named[0]) if pick_other else named[0]
    fewest = min(counts)
    return sorted_labels([s for s, n in zip(labels, counts, strict=True) if n == fewest])[-1]


def _shown(labels: list[str]) -> str:
    more = f" and {len(labels) - SHOWN} more" if len(labels) > SHOWN else ""
    return ", ".join(f"'{s}'" for s in labels[:SHOWN]) + more


def declared_positive(declared: str, labels: list[str], column: str) -> str:
    """The declared positive class as the label it names: exactly, else ignoring case."""
    if declared in labels:
        return declared
    folded = [s for s in labels if s.casefold() == declared.casefold()]
    if len(folded) == 1:
        return folded[0]
    raise ConfigError(
        f"'{declared}' is not a label of target '{column}'; its labels: "
        f"{_shown(sorted_labels(labels))}",
        key="data.positive_class",
    )


def _check_task(task: str, values: pd.Series, labels: list[str]) -> None:
    """The declared task fits the target (exit 2 naming model.task, before any training)."""
    column = values.name
    if task == Task.REGRESSION and not _is_numeric(values):
        raise ConfigError(
            f"regression needs a numeric target, but '{column}' holds {_shown(labels)}; "
            f"set model.task={infer_task(values).value}",
            key="model.task",
        )
    if task == Task.BINARY and len(labels) > 2:
        raise ConfigError(
            f"binary needs two labels, but target '{column}' has {len(labels)}: "
            f"{_shown(sorted_labels(labels))}; set model.task={infer_task(values).value}",
            key="model.task",
        )
    if task in (Task.BINARY, Task.MULTICLASS) and len(labels) < 2:
        raise ConfigError(
            f"target '{column}' has {len(labels)} distinct value(s) {_shown(labels)}: nothing "
            "to learn",
            key="data.target",
        )


def target_spec(task: str, values: pd.Series, declared: str | None = None) -> dict[str, Any]:
    """The target spec of `feature_spec["target"]` for the declared task and these values (every
    row with a target, not only training rows: a class seen only in the holdout still has its
    place); `declared`: `data.positive_class`."""
    labels, counts = _distinct(values)
    _check_task(task, values, labels)
    spec: dict[str, Any] = {"column": str(values.name), "task": str(task)}
    if declared is not None and task != Task.BINARY:
        raise ConfigError(
            f"a positive class applies to binary targets; model.task is {task}",
            key="data.positive_class",
        )
    if task == Task.BINARY:
        positive = (
            declared_positive(declared, labels, str(values.name))
            if declared is not None
            else positive_class(labels, counts)
        )
        spec["classes"] = [next(s for s in labels if s != positive), positive]
        spec["positive_class"] = positive
    elif task == Task.MULTICLASS:
        spec["classes"] = sorted_labels(labels)
    return spec


def classes_of(target: dict[str, Any]) -> list[str]:
    """The labels in encoded order; a binary spec from before labels were kept means 0/1."""
    if target["task"] == Task.BINARY and not target.get("classes"):
        return ["0", "1"]
    return [str(c) for c in target.get("classes", [])]


def normalized(target: dict[str, Any]) -> dict[str, Any]:
    """The spec as written today, so an older bundle's spec compares equal to a new one's."""
    if target.get("task") != Task.BINARY:
        return dict(target)
    classes = classes_of(target)
    return {**target, "classes": classes, "positive_class": classes[1]}


def _encode_numbers(values: pd.Series, numbers: list[float]) -> np.ndarray:
    """Numeric labels compared as numbers: `1.0` in the data is label `1`."""
    import numpy as np

    x = values.to_numpy(dtype="float64", na_value=np.nan)
    if numbers == [float(i) for i in range(len(numbers))]:  # 0/1 in order: codes already
        return np.where(np.isin(x, np.asarray(numbers)), x, np.nan)
    out = np.full(x.shape, np.nan)
    for i, number in enumerate(numbers):
        out[x == number] = float(i)
    return out


def encode_target(target: dict[str, Any], values: pd.Series) -> np.ndarray:
    """Each row's label as its index in `classes` (NaN: missing or not a known label); a
    regression target as float."""
    import numpy as np
    import pandas as pd

    if target["task"] == Task.REGRESSION:
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    classes = classes_of(target)
    numbers = [_number(label) for label in classes]
    if _is_numeric(values) and all(n is not None for n in numbers):
        return _encode_numbers(values, [float(n or 0.0) for n in numbers])
    index = {label: float(i) for i, label in enumerate(classes)}
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    # one lookup per distinct value, then a take: a million rows cost a factorize, not a loop
    lookup = np.array([index.get(label_text(u), np.nan) for u in uniques] + [np.nan])
    return lookup[codes]


def drop_missing(frame: pd.DataFrame, column: str, policy: str) -> tuple[pd.DataFrame, int]:
    """Rows without a target are dropped and counted (`data.missing_target: drop`), or refused
    with their row numbers (`fail`)."""
    if column not in frame.columns:
        raise ConfigError(
            f"target column '{column}' is not in the data; columns: "
            f"{', '.join(map(str, frame.columns[:20]))}",
            key="data.target",
        )
    if policy not in MISSING_TARGET:
        raise ConfigError(
            f"unknown policy '{policy}'; choose {' or '.join(MISSING_TARGET)}",
            key="data.missing_target",
        )
    missing = frame[column].isna().to_numpy()
    count = int(missing.sum())
    if count and policy == "fail":
        rows = ", ".join(str(i + 1) for i in missing.nonzero()[0][:5])
        raise DataValidationError(
            f"{count} row(s) have no value in target '{column}' (e.g. data row {rows}, the "
            "first row being 1); set data.missing_target=drop to train without them",
            key="data.missing_target",
        )
    return (frame[~missing].reset_index(drop=True) if count else frame), count
