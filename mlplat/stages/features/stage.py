"""Split into train and holdout, then fit the feature spec on training rows only (no leakage)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from mlplat.core import dataio
from mlplat.core.features import fit_spec
from mlplat.core.io import write_json
from mlplat.core.split import split_rows

if TYPE_CHECKING:
    import pandas as pd

    from mlplat.core.config import PlatformConfig
    from mlplat.core.stage import ArtifactPaths


def target_info(cfg: PlatformConfig, train: pd.DataFrame) -> dict[str, Any]:
    info: dict[str, Any] = {"column": cfg.data.target, "task": cfg.model.task}
    if cfg.model.task == "multiclass":
        info["classes"] = sorted(str(v) for v in train[cfg.data.target].dropna().unique())
    return info


def run(cfg: PlatformConfig, paths: ArtifactPaths) -> None:
    frame = dataio.load(cfg.data, str(paths["data"]))
    frame = frame[frame[cfg.data.target].notna()].reset_index(drop=True)
    train_rows, test_rows = split_rows(frame, cfg.data, cfg.model.task)
    train, test = frame.iloc[train_rows], frame.iloc[test_rows]
    spec = fit_spec(cfg.features.definitions, train)  # first: a bad definition writes nothing
    spec["target"] = target_info(cfg, train)
    # pyarrow writes Parquet without the GIL: the two files at once, on two threads
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="mlplat-write") as pool:
        list(pool.map(dataio.write_table, (train, test), (paths["train_rows"], paths["test_rows"])))
    write_json(paths["feature_spec"], spec)
