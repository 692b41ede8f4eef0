"""Tables in and out: the declared data source (CSV or Parquet, local path or any fsspec URL)
and the Parquet files stages hand to each other.

The stages of a run share one process (`mlplat.pipeline.worker`), and each reads what an earlier
one read or wrote: validate and featurize the source, train, bundle and evaluate the training and
holdout rows. The last two tables read or written stay in memory, so reading them again costs a
copy instead of a parse (about 2 s of a run on 1,000,000 rows). A remembered table is used only
while its file is the one it came from (same inode, size and modification time): a file changed
in between is read again. The runner forgets them when its stages end.
"""

from __future__ import annotations

import csv
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

from mlplat.core.errors import ConfigError, DataValidationError
from mlplat.core.io import atomic_path

if TYPE_CHECKING:
    import pandas as pd

    from mlplat.core.config.data import DataConfig

REMEMBERED = 2  # tables kept: a run's training and holdout rows, or its source before those
_tables: OrderedDict[str, tuple[tuple[int, int, int], pd.DataFrame]] = OrderedDict()
_lock = threading.Lock()


def _identity(path: str) -> tuple[int, int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_ino, found.st_size, found.st_mtime_ns


def _remember(path: str, frame: pd.DataFrame) -> None:
    identity = _identity(path)
    if identity is None:
        return
    key = os.path.realpath(path)
    with _lock:  # a stage may write two tables on two threads
        _tables.pop(key, None)
        # a shallow copy is enough: with pandas' copy-on-write, a change the caller makes to
        # its own frame copies the changed column then, so the remembered table stays as written
        _tables[key] = (identity, frame.copy(deep=False))
        while len(_tables) > REMEMBERED:
            _tables.popitem(last=False)


def _recall(path: str) -> pd.DataFrame | None:
    found = _tables.get(os.path.realpath(path))
    if found is None or found[0] != _identity(path):
        return None
    return found[1].copy(deep=False)


def forget() -> None:
    """Drop every remembered table (the end of a run's stages)."""
    _tables.clear()


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A Parquet file a stage wrote (`write_table`)."""
    import pandas as pd

    key = os.fspath(path)
    frame = _recall(key)
    if frame is None:
        frame = pd.read_parquet(key)
        _remember(key, frame)
    return frame


def write_table(frame: pd.DataFrame, target: str | os.PathLike[str]) -> None:
    """Write `frame` as Parquet, atomically, and remember it for the next stage."""
    with atomic_path(target) as tmp:
        frame.to_parquet(tmp, index=False)
    _remember(os.fspath(target), frame)


def source_format(path: str, declared: str = "auto") -> str:
    if declared != "auto":
        return declared
    suffixes = Path(path.split("?")[0]).suffixes
    return "parquet" if ".parquet" in suffixes or ".pq" in suffixes else "csv"


def is_local(path: str) -> bool:
    return "://" not in path or path.startswith("file://")


def check_source(path: str, key: str = "data.path") -> None:
    """Fail at the boundary, naming the key, when a local data file is missing."""
    if is_local(path) and not Path(path.removeprefix("file://")).is_file():
        raise ConfigError(f"data file '{path}' does not exist", key=key, file=path)


def read_frame(path: str, declared_format: str = "auto") -> pd.DataFrame:
    """Read a table; unreadable files become a DataValidationError naming the file."""
    import pandas as pd

    fmt = source_format(path, declared_format)
    try:
        if fmt == "parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, encoding="utf-8", low_memory=False)
    except pd.errors.EmptyDataError as exc:
        raise DataValidationError(f"data file '{path}' is empty", file=path) from exc
    except UnicodeDecodeError as exc:
        raise _encoding_error(path, exc) from exc
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        raise DataValidationError(f"cannot read '{path}' as {fmt}: {exc}", file=path) from exc


def _locate(path: str, start: int) -> tuple[int, str | None]:
    """(line number, header field) of a bad byte; pandas reports the offset of its read buffer,
    so search the raw bytes again for the first undecodable one."""
    import fsspec

    with fsspec.open(path, "rb") as fh:
        raw = fh.read()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = exc.start
    line_start = raw.rfind(b"\n", 0, start) + 1
    header = raw.split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r").split(",")
    field = raw.count(b",", line_start, start)
    return raw.count(b"\n", 0, start) + 1, header[field] if field < len(header) else None


def _encoding_error(path: str, exc: UnicodeDecodeError) -> DataValidationError:
    try:
        line, column = _locate(path, exc.start)
    except (OSError, ValueError):
        line, column = 0, None
    where = f"line {line}" + (f", column '{column}'" if column else "")
    return DataValidationError(
        f"data file '{path}' is not valid UTF-8 ({where}): re-encode it as UTF-8",
        file=path,
        key=f"schema.columns.{column}" if column else None,
    )


def load(data: DataConfig, path: str | None = None) -> pd.DataFrame:
    source = path or data.path
    check_source(source)
    local = source.removeprefix("file://") if is_local(source) else None
    remembered = _recall(local) if local else None
    if remembered is not None:
        return remembered
    frame = read_frame(source, data.format)
    if local:
        _remember(local, frame)
    return frame


COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".zip", ".tar")  # pandas decompresses these itself


def header(path: str, declared_format: str = "auto") -> list[str] | None:
    """The column names of a local data file from its header (CSV) or footer (Parquet), rows
    unread; None for a remote source or a file that does not read (the validate stage reads the
    whole file and reports why)."""
    if not is_local(path):
        return None
    local = path.removeprefix("file://")
    try:
        if source_format(path, declared_format) == "parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(local).names)
        if Path(local).suffix.lower() in COMPRESSED:
            import pandas as pd

            return [str(c) for c in pd.read_csv(local, nrows=0, encoding="utf-8").columns]
        with open(local, newline="", encoding="utf-8-sig") as fh:  # pandas drops a BOM too
            return next(csv.reader(fh), [])
    except (OSError, ValueError, csv.Error):
        return None
