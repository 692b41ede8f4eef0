"""Every column the declaration reads must be in the data, checked against the file's header.

Reading the header costs a line of CSV (or a Parquet footer), so a column that is not there is
named, with its key, before a run is opened, instead of failing a stage inside one. A column the
schema declares is the contract's business: when a batch lacks it, the batch is wrong, not the
declaration, and the validate stage reports it as a failed check (exit 1) in the run's report.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from mlplat.core import dataio
from mlplat.core.config.keys import closest
from mlplat.core.errors import ConfigError

if TYPE_CHECKING:
    from mlplat.core.config import PlatformConfig

LISTED = 20  # a data set with more columns is not listed in the message


def declared(cfg: PlatformConfig) -> Iterator[tuple[str, str]]:
    """(key, column) of every column the declaration reads from the data."""
    data = cfg.data
    yield "data.target", data.target
    for key in ("id_column", "timestamp_column"):
        if getattr(data, key):
            yield f"data.{key}", getattr(data, key)
    if data.split.group_column:
        yield "data.split.group_column", data.split.group_column
    for name, feature in cfg.features.definitions.items():
        for key in ("column", "numerator", "denominator"):
            if getattr(feature, key):
                yield f"features.definitions.{name}.{key}", getattr(feature, key)
    for name, segment in cfg.segments.slices.items():
        if segment.column:
            yield f"segments.slices.{name}.column", segment.column
        for column in segment.cross or []:
            yield f"segments.slices.{name}.cross", column


def _missing(column: str, columns: list[str]) -> str:
    near = closest(column, columns)
    return f"no column '{column}'" + (f" (did you mean '{near}'?)" if near else "")


def check(cfg: PlatformConfig) -> None:
    """Refuse every declared column the data file lacks (local files; a remote source is read,
    and checked, by the validate stage)."""
    columns = dataio.header(cfg.data.path, cfg.data.format)
    if columns is None:
        return
    present = set(columns) | set(cfg.schema.columns)
    missing = [(k, str(c)) for k, c in declared(cfg) if str(c) not in present]
    if not missing:
        return
    if len(missing) == 1:
        said = f"{_missing(missing[0][1], columns)} in the data"
    else:
        said = "; ".join(f"{k}: {_missing(c, columns)}" for k, c in missing)
    has = ", ".join(columns) if len(columns) <= LISTED else f"{len(columns)} columns"
    raise ConfigError(f"{said}; the data has {has}", key=missing[0][0], file=cfg.data.path)
