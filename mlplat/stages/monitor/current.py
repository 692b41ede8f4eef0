"""Reading the current rows: serving request logs (JSON lines) or any CSV/Parquet file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlplat.core.dataio import read_frame
from mlplat.core.errors import ConfigError, DataValidationError

if TYPE_CHECKING:
    import pandas as pd

LOGGED = "_mlplat_logged_prediction"  # the served prediction of a request-log row
TABLES = (".csv", ".parquet", ".pq")


def _log_files(path: Path) -> list[Path]:
    # *.jsonl only: a *.jsonl.part file is still being written (see mlplat.serving.reqlog).
    return sorted(path.glob("*.jsonl")) if path.is_dir() else [path]


def read_request_logs(files: list[Path]) -> pd.DataFrame:
    """One row per scored row of every logged request (a line holds a request's columns)."""
    import orjson
    import pandas as pd

    columns: dict[str, list] = {}
    predictions: list = []
    for file in files:
        for number, line in enumerate(file.read_bytes().splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
                inputs, scored = record["inputs"], record["predictions"]
                if any(len(values) != len(scored) for values in inputs.values()):
                    raise ValueError("its input columns and predictions differ in length")
            except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
                raise DataValidationError(
                    f"{file}:{number}: not a request-log record ({exc})", file=str(file)
                ) from exc
            before = len(predictions)
            for name, values in inputs.items():  # a column new in this record: earlier rows null
                columns.setdefault(name, [None] * before).extend(values)
            predictions.extend(scored)
            for values in columns.values():  # a column absent from this record: its rows null
                values.extend([None] * (len(predictions) - len(values)))
    frame = pd.DataFrame(columns)
    frame[LOGGED] = pd.to_numeric(pd.Series(predictions, dtype="object"), errors="coerce")
    return frame


def read_current(location: str | Path) -> pd.DataFrame:
    """A request-log directory or .jsonl file, or one table; the other files in a dir are read
    as tables and concatenated."""
    import pandas as pd

    path = Path(location)
    if not path.exists():
        raise ConfigError(f"current data '{path}' does not exist", key="current", file=str(path))
    logs = _log_files(path) if path.is_dir() or path.suffix == ".jsonl" else []
    if logs:
        return read_request_logs(logs)
    tables = sorted(p for p in path.iterdir() if p.suffix in TABLES) if path.is_dir() else [path]
    if not tables:
        raise ConfigError(
            f"no *.jsonl, *.csv or *.parquet files in '{path}'", key="current", file=str(path)
        )
    frames = [read_frame(str(p)) for p in tables]
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
