"""Delayed labels joined to the predictions of every arm, by request id, within a lookback window.

A request of one row is labelled by its request id; a row of a larger request by
`<request id>/<row>`. Joining is idempotent: the joined rows (`joined.parquet`) are merged with
what was joined before, a label sent again counts once, a changed label replaces the old one
and is reported. Ids no arm logged and labels later than `online.lookback_hours` after their
prediction are counted and reported, never joined silently.

Labels come from a file (`--labels`) and from what servers stored for `POST /feedback` under
`outcomes/`; a joined outcomes file moves to `outcomes/joined/`, so the next call does not count
its labels again, and is kept there (nothing is deleted).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core.errors import ConfigError
from mlplat.serving.online.state import Layout

if TYPE_CHECKING:
    import pandas as pd

KEYS = ["label_id", "arm"]


@dataclass(frozen=True)
class FeedbackReport:
    labels: int  # labels read: the file's rows and the posted outcomes
    posted: int  # of which posted to a server's /feedback
    joined: int  # labelled predictions now stored (every arm, every label so far)
    new: int  # labels joined for the first time by this call
    duplicates: int  # labels sent again unchanged
    changed: int  # labels that replaced a different earlier one
    unknown: int  # ids no arm logged
    late: int  # labels more than the lookback window after their prediction
    path: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def log_records(layout: Layout) -> Iterator[dict[str, Any]]:
    """Every record of the online request log, the files servers are still writing included
    (`*.jsonl.part`, flushed every 50 ms): a live canary's guardrails cannot wait for a file
    to rotate. An open file's last line may be half written; it is read next time."""
    import orjson

    for file in sorted(layout.requests.glob("*.jsonl*")):
        try:
            data = file.read_bytes()
        except FileNotFoundError:  # completed (renamed) since the listing
            data = file.with_suffix("").read_bytes()
        for line in data.splitlines():
            try:
                yield orjson.loads(line)
            except orjson.JSONDecodeError:
                if not file.name.endswith(".part"):
                    raise


def logged_rows(layout: Layout) -> pd.DataFrame:
    """One row per scored row of every arm in the online request log (answers, not failures)."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for record in log_records(layout):
        predictions = record.get("predictions") or []
        if record.get("status", 200) != 200 or not predictions:
            continue
        for i, prediction in enumerate(predictions):
            row = {name: values[i] for name, values in record["inputs"].items()}
            rid = record["request_id"]
            row.update(
                label_id=rid if len(predictions) == 1 else f"{rid}/{i}",
                request_id=rid,
                arm=record["arm"],
                model_version=record["model_version"],
                prediction=prediction,
                latency_ms=record["latency_ms"],
                predicted_at=record["ts"],
                classes=record.get("classes"),  # a multiclass prediction's order
                threshold=record.get("threshold"),  # a binary model's served decision threshold
            )
            rows.append(row)
    return pd.DataFrame(rows)


def unlabelled_rows(layout: Layout) -> pd.DataFrame:
    """The logged rows of every arm that no label has been joined to yet (arm, prediction,
    threshold): what the label-free estimate reads."""
    import pandas as pd

    logged = logged_rows(layout)
    if logged.empty:
        return pd.DataFrame(columns=["arm", "prediction", "threshold"])
    if layout.joined.is_file():
        joined = pd.read_parquet(layout.joined, columns=KEYS)
        logged = logged.merge(joined, on=KEYS, how="left", indicator=True)
        logged = logged[logged["_merge"] == "left_only"]
    return logged[["arm", "prediction", "threshold"]]


def read_labels(path: Path, id_column: str, label_column: str) -> pd.DataFrame:
    from mlplat.core.dataio import read_frame

    frame = read_frame(str(path))
    for column, flag in ((id_column, "--id-column"), (label_column, "--label-column")):
        if column not in frame.columns:
            raise ConfigError(
                f"no column '{column}' in {path} (columns: {', '.join(map(str, frame.columns))})",
                key=flag,
                file=str(path),
            )
    labels = frame[[id_column, label_column]].rename(
        columns={id_column: "label_id", label_column: "label"}
    )
    labels["label_id"] = labels["label_id"].astype(str)
    return labels


def posted(layout: Layout) -> tuple[pd.DataFrame, list[Path]]:
    """The outcomes servers stored for `POST /feedback` and not joined yet, oldest first."""
    import orjson
    import pandas as pd

    files = sorted(layout.outcomes.glob("outcomes-*.jsonl"))
    rows = [orjson.loads(line) for f in files for line in f.read_bytes().splitlines()]
    frame = pd.DataFrame(rows, columns=["label_id", "label", "received_at"])
    return frame[["label_id", "label"]], files


def all_labels(
    layout: Layout, labels_file: Path | None, columns: tuple[str, str]
) -> tuple[pd.DataFrame, list[Path], int]:
    """Posted outcomes, then the file's (a later label of an id wins); the files they came
    from, and how many were posted."""
    import pandas as pd

    sent, files = posted(layout)
    frames = [sent] if len(sent) else []
    if labels_file is not None:
        frames.append(read_labels(labels_file, *columns))
    if not frames:
        raise ConfigError(
            f"no labels: give --labels FILE, or POST outcomes to a server's /feedback "
            f"(none waiting under {layout.outcomes})",
            key="--labels",
        )
    frame = one_label_type(pd.concat(frames, ignore_index=True))
    return frame.drop_duplicates("label_id", keep="last"), files, len(sent)


def one_label_type(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers and class names mixed in one column: all as text (Parquet holds one type)."""
    if frame["label"].dtype == object:
        return frame.assign(label=frame["label"].astype(str))
    return frame


def join(
    layout: Layout,
    labels_file: Path | None,
    columns: tuple[str, str],
    lookback_hours: float,
) -> FeedbackReport:
    """Join the labels (`columns`: the file's id and label columns) into `joined.parquet`."""
    import pandas as pd

    from mlplat.core.io import atomic_path

    labels, files, count = all_labels(layout, labels_file, columns)
    logged = logged_rows(layout)
    if logged.empty:
        raise ConfigError(
            f"no logged predictions under {layout.requests}: serve with --mode first",
            file=str(layout.requests),
        )
    known = labels["label_id"].isin(logged["label_id"])
    fresh = logged.merge(labels[known], on="label_id")
    now = pd.Timestamp(dt.datetime.now(dt.UTC))
    late_mask = now - pd.to_datetime(fresh["predicted_at"], utc=True) > pd.Timedelta(
        hours=lookback_hours
    )
    late = int(fresh.loc[late_mask, "label_id"].nunique())
    fresh = fresh[~late_mask]
    fresh = fresh.assign(labelled_at=now.isoformat())
    before = pd.read_parquet(layout.joined) if layout.joined.is_file() else fresh.iloc[:0]
    merged = before.merge(fresh[[*KEYS, "label"]], on=KEYS, how="inner", suffixes=("", "_new"))
    same = merged["label"].astype(str) == merged["label_new"].astype(str)
    seen = set(merged["label_id"])
    kept = before.set_index(KEYS).drop(index=fresh.set_index(KEYS).index, errors="ignore")
    out = one_label_type(pd.concat([kept.reset_index(), fresh], ignore_index=True))
    with atomic_path(layout.joined) as tmp:
        out.to_parquet(tmp, index=False)
    done = layout.outcomes / "joined"
    for file in files:  # after the join is stored: a crash in between only re-counts them
        done.mkdir(exist_ok=True)
        file.replace(done / file.name)
    return FeedbackReport(
        labels=len(labels),
        posted=count,
        joined=len(out),
        new=int(fresh.loc[~fresh["label_id"].isin(seen), "label_id"].nunique()),
        duplicates=int(merged.loc[same, "label_id"].nunique()),
        changed=int(merged.loc[~same, "label_id"].nunique()),
        unknown=int((~known).sum()),
        late=late,
        path=str(layout.joined),
    )
