"""Split into train and holdout, then fit the feature spec on training rows only (no leakage).

The target spec (task, labels in encoded order, positive class) is decided here, once, from every
row with a target; rows without one are dropped and counted (`data.missing_target`)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from mlplat.core import dataio, labels
from mlplat.core.features import fit_spec
from mlplat.core.io import write_json
from mlplat.core.split import split_rows

if TYPE_CHECKING:
    from mlplat.core.config import PlatformConfig
    from mlplat.core.stage import ArtifactPaths


def run(cfg: PlatformConfig, paths: ArtifactPaths) -> None:
    frame = dataio.load(cfg.data, str(paths["data"]))
    read = len(frame)
    frame, dropped = labels.drop_missing(frame, cfg.data.target, cfg.data.missing_target)
    target = labels.target_spec(cfg.model.task, frame[cfg.data.target], cfg.data.positive_class)
    train_rows, test_rows = split_rows(frame, cfg.data, cfg.model.task)
    train, test = frame.iloc[train_rows], frame.iloc[test_rows]
    spec = fit_spec(cfg.features.definitions, train)  # first: a bad definition writes nothing
    spec["target"] = target
    spec["rows"] = {"read": read, "missing_target": dropped}
    # pyarrow writes Parquet without the GIL: the two files at once, on two threads
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="mlplat-write") as pool:
        list(pool.map(dataio.write_table, (train, test), (paths["train_rows"], paths["test_rows"])))
    write_json(paths["feature_spec"], spec)
