"""Reading the declared data source: CSV or Parquet, local path or any fsspec URL."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlplat.core.errors import ConfigError, DataValidationError

if TYPE_CHECKING:
    import pandas as pd

    from mlplat.core.config.data import DataConfig


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
    return read_frame(source, data.format)
