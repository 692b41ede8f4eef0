"""Invariants learned from the training data, checked on new data without being declared.

A schema says what a column may hold; training says what it did hold. Three things that no
range or type check catches, judged against the column profile of the training rows
(core/reference_stats.py) with limits that allow for the sample sizes (core/bounds.py):

- `constant`: a column that varied in training holds one value now ("a feature may be
  erroneously pinned to a specific value"). Breached when a batch of this size drawn from
  training's values would be constant with chance below alpha (the commonest training value's
  share, at its upper bound, to the power n - 1).
- `null_rate`: far more nulls than training had: more than the binomial quantile of the
  training rate's upper bound plus `null_rate_margin`.
- `new_category`: a text value rare in training (its share's upper bound under `rare_share`,
  unseen included) taking more than `new_share` of the rows, beyond what chance gives.

Used by the validate stage (`mlplat validate`, `mlplat run`, `dvc repro`) and `mlplat monitor`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core import bounds
from mlplat.core.reference_stats import key_counts

if TYPE_CHECKING:
    import pandas as pd

    from mlplat.core.config.contract import LearnedConfig, SchemaConfig
    from mlplat.core.config.data import DataConfig

CHECKS = ("constant", "null_rate", "new_category")
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Finding:
    column: str
    check: str  # one of CHECKS
    value: float  # constant: the chance of it (a p-value); otherwise a share of rows
    limit: float  # constant: alpha; otherwise the highest share chance allows
    breached: bool
    rows: int  # rows showing it: all (constant), the nulls, the rows holding new values
    detail: str  # what was seen, for the report and the monitor table


@dataclass(frozen=True)
class Reference:
    """The column profile of the rows a model was trained on, and where it was read from."""

    columns: dict[str, Any]
    source: str

    @classmethod
    def of_bundle(cls, directory: Path) -> Reference | None:
        """From a bundle's profile.json, once the bundle checks out against its manifest;
        None when there is no bundle, or it was built before column profiles."""
        import json

        from mlplat.core.bundle import MANIFEST, verify

        if not (directory / MANIFEST).is_file():
            return None
        verify(directory)
        path = directory / "profile.json"
        columns = json.loads(path.read_text(encoding="utf-8")).get("columns")
        here = Path.cwd()
        shown = path.relative_to(here) if path.is_absolute() and path.is_relative_to(here) else path
        return cls(columns, str(shown)) if columns else None


@dataclass(frozen=True)
class Rules:
    """The settings, the columns exempt from every check (declared `ignore`, the batch's
    timestamp column) and those exempt from `new_category` (dates are new every batch)."""

    settings: LearnedConfig
    exempt: frozenset[str] = frozenset()
    dates: frozenset[str] = frozenset()

    @classmethod
    def of(cls, schema: SchemaConfig, data: DataConfig) -> Rules:
        stamp = {data.timestamp_column} if data.timestamp_column else set()
        dates = {name for name, col in schema.columns.items() if col.dtype == "datetime"}
        return cls(schema.learned, frozenset({*schema.learned.ignore, *stamp}), frozenset(dates))


@dataclass(frozen=True)
class Seen:
    """One column of new data, as much as the checks need."""

    values: int  # non-null
    nulls: int
    single: str | None  # the key of the one value of a constant column
    counts: pd.Series | None  # rows per key, commonest first (for new_category only)


def observe(series: pd.Series, count: bool) -> Seen:
    """Numbers are checked for constancy by min == max, a pass without hashing; rows per value
    are counted only when `count` (text columns with a category profile)."""
    import numpy as np
    import pandas as pd

    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if numeric and not count:
        numbers = series.to_numpy(dtype="float64", na_value=np.nan)
        present = numbers[~np.isnan(numbers)]
        single = (
            repr(float(present[0])) if present.size and present.min() == present.max() else None
        )
        return Seen(int(present.size), int(numbers.size - present.size), single, None)
    counts = key_counts(series.dropna())
    single = str(counts.index[0]) if counts.size == 1 else None
    return Seen(int(counts.sum()), int(series.size - counts.sum()), single, counts)


def _constant(name: str, ref: dict[str, Any], seen: Seen, alpha: float) -> Finding | None:
    n = seen.values
    if ref["distinct"] < 2 or n < 2:
        return None  # constant in training (nothing learned), or too few values to tell
    if seen.single is None:
        return Finding(name, "constant", 1.0, alpha, False, n, "more than one value")
    chance = bounds.upper_rate(ref["top"], ref["rows"] - ref["nulls"], alpha) ** (n - 1)
    detail = f"all {n} values are {seen.single}; {ref['distinct']} distinct values in training"
    return Finding(name, "constant", chance, alpha, chance < alpha, n, detail)


def _null_rate(
    name: str, ref: dict[str, Any], nulls: int, n: int, margin: float, alpha: float
) -> Finding | None:
    if n == 0 or ref["rows"] == 0:
        return None
    trained = ref["nulls"] / ref["rows"]
    allowed = min(1.0, bounds.upper_rate(ref["nulls"], ref["rows"], alpha) + margin)
    limit = bounds.rate_limit(allowed, n, alpha)
    detail = f"{nulls} of {n} rows null; training {trained:.4f}"
    return Finding(name, "null_rate", nulls / n, limit, nulls / n > limit, nulls, detail)


def _new_category(
    name: str, ref: dict[str, Any], now: pd.Series, settings: LearnedConfig, alpha: float
) -> Finding | None:
    """`now`: rows per key of the new data."""
    import numpy as np

    trained = ref["frequencies"]
    n = int(now.sum())
    if n == 0:
        return None
    total = sum(trained.values())
    before = np.asarray([trained.get(str(v), 0) for v in now.index], dtype="int64")
    rare = bounds.upper_rates(before, total, alpha) <= settings.rare_share
    shares = now.to_numpy() / n
    limit = bounds.rate_limit(settings.new_share, n, alpha)
    worst = float(shares[rare].max()) if rare.any() else 0.0
    hits = [i for i in np.argsort(-shares, kind="stable") if rare[i] and shares[i] > limit]
    detail = "; ".join(
        f"{now.index[i]} now {shares[i]:.3f} (training {before[i] / total:.4f})"
        for i in hits[:MAX_EXAMPLES]
    )
    rows = int(sum(now.iloc[i] for i in hits))
    return Finding(name, "new_category", worst, limit, bool(hits), rows, detail)


def _column(
    name: str, ref: dict[str, Any], series: pd.Series, rules: Rules, alpha: float
) -> list[Finding]:
    shares = "frequencies" in ref and name not in rules.dates
    seen = observe(series, count=shares)
    found = [
        _constant(name, ref, seen, alpha),
        _null_rate(name, ref, seen.nulls, int(series.size), rules.settings.null_rate_margin, alpha),
    ]
    if shares and seen.counts is not None:
        found.append(_new_category(name, ref, seen.counts, rules.settings, alpha))
    return [f for f in found if f is not None]


def checked_columns(reference: dict[str, Any], frame: pd.DataFrame, rules: Rules) -> list[str]:
    return [c for c in reference if c in frame.columns and c not in rules.exempt]


def check(reference: dict[str, Any], frame: pd.DataFrame, rules: Rules) -> list[Finding]:
    """Every learned invariant of every column both the reference and `frame` have; alpha is
    shared over all of them, so an unchanged batch breaches any with chance <= 1 - confidence."""
    if not rules.settings.enabled:
        return []
    if not 0.0 < rules.settings.confidence < 1.0:
        from mlplat.core.errors import ConfigError

        raise ConfigError(
            f"schema.learned.confidence must be between 0 and 1, not {rules.settings.confidence}",
            key="schema.learned.confidence",
        )
    columns = checked_columns(reference, frame, rules)
    alpha = bounds.family_alpha(rules.settings.confidence, len(CHECKS) * len(columns))
    return [f for c in columns for f in _column(c, reference[c], frame[c], rules, alpha)]


def breaches(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.breached]
