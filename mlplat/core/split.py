"""Leak-free train/holdout splits: stratified, random, time-based and group-based."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlplat.core.errors import ConfigError
from mlplat.core.vocabulary import SplitStrategy, Task, choices, knows

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mlplat.core.config.data import DataConfig


def _time_split(frame: pd.DataFrame, data: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np
    import pandas as pd

    column = data.timestamp_column
    if not column or column not in frame:
        raise ConfigError("a time split needs data.timestamp_column", key="data.timestamp_column")
    stamps = pd.to_datetime(frame[column], errors="coerce")
    if data.split.cutoff:
        cutoff = pd.Timestamp(data.split.cutoff)
    else:
        cutoff = stamps.quantile(1.0 - data.split.test_size)
    test = (stamps >= cutoff).to_numpy()
    rows = np.arange(len(frame))
    return rows[~test & stamps.notna().to_numpy()], rows[test]


def period(frame: pd.DataFrame, column: str | None) -> list[str] | None:
    """The first and last date in `column` (ISO, unparseable stamps left out): the period a
    model was trained or evaluated on, for its card. None without a timestamp column."""
    import pandas as pd

    if not column or column not in frame:
        return None
    stamps = pd.to_datetime(frame[column], errors="coerce").dropna()
    if stamps.empty:
        return None
    return [stamps.min().date().isoformat(), stamps.max().date().isoformat()]


def _group_split(frame: pd.DataFrame, data: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import GroupShuffleSplit

    column = data.split.group_column or data.id_column
    if not column or column not in frame:
        raise ConfigError(
            "a group split needs data.split.group_column", key="data.split.group_column"
        )
    splitter = GroupShuffleSplit(
        n_splits=1, test_size=data.split.test_size, random_state=data.split.seed
    )
    train, test = next(splitter.split(frame, groups=frame[column].astype("string").fillna("")))
    return train, test


def split_rows(frame: pd.DataFrame, data: DataConfig, task: str) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of (train, holdout) by the declared strategy."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    strategy = data.split.strategy
    if not knows(SplitStrategy, strategy):
        raise ConfigError(
            f"unknown split strategy '{strategy}'; choose one of {choices(SplitStrategy)}",
            key="data.split.strategy",
        )
    if strategy == SplitStrategy.TIME:
        return _time_split(frame, data)
    if strategy == SplitStrategy.GROUP:
        return _group_split(frame, data)
    stratify = (
        _strata(frame[data.target], data.split.test_size)
        if strategy == SplitStrategy.STRATIFIED and task != Task.REGRESSION
        else None
    )
    train, test = train_test_split(
        np.arange(len(frame)),
        test_size=data.split.test_size,
        random_state=data.split.seed,
        stratify=stratify,
    )
    return np.sort(train), np.sort(test)


def _strata(labels: pd.Series, test_size: float) -> pd.Series | None:
    """The labels to stratify on. A class with a single row cannot be on both sides: such
    classes share one stratum (joined to the largest class if they are one row in all); and a
    holdout smaller than the number of strata cannot hold one of each, so it is drawn at random."""
    counts = labels.value_counts()
    rare = counts.index[counts < 2]
    strata = labels.astype("string").where(~labels.isin(rare), "rare classes")
    if len(rare) == 1:  # one class of one row: no stratum of its own
        strata = strata.where(~labels.isin(rare), str(counts.index[0]))
    held = test_size if test_size >= 1 else round(test_size * len(labels))
    return strata if strata.nunique() <= held else None


EARLY_STOPPING_SHARE = 0.1


def early_stopping_rows(frame: pd.DataFrame, data: DataConfig, seed: int) -> np.ndarray:
    """Which training rows early stopping watches (a boolean mask), cut the way the holdout is:
    the latest tenth of training time under a time split, so the number of rounds is chosen on
    the future as the holdout judges it; else a seeded random tenth."""
    import numpy as np

    if data.split.strategy != SplitStrategy.TIME or data.timestamp_column not in frame:
        return np.random.default_rng(seed).random(len(frame)) < EARLY_STOPPING_SHARE
    import pandas as pd

    stamps = pd.to_datetime(frame[data.timestamp_column], errors="coerce")
    ranks = stamps.rank(method="first", na_option="top").to_numpy()  # ties: in row order
    return ranks > len(frame) - int(len(frame) * EARLY_STOPPING_SHARE)


def at_most(rows: int, limit: int, seed: int) -> np.ndarray | slice:
    """Positions of a seeded sample of `limit` rows out of `rows` (in order), or all of them.

    For reference figures that a sample estimates as well as the whole table (a baseline model,
    a distribution's quantiles), so their cost stops growing with the data."""
    import numpy as np

    if rows <= limit:
        return slice(None)
    return np.sort(np.random.default_rng(seed).choice(rows, size=limit, replace=False))
