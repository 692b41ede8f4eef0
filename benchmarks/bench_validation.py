"""Data-contract benchmark: validating 1,000,000 rows x 30 columns with a realistic schema.

Three medians on the same in-memory frame (as read from Parquet):
  - mlplat: `validate_frame` (compile conf-style schema -> pandera, lazy validate, build report),
  - pandera: the equivalent hand-written `pandera.pandas` DataFrameSchema, `validate(lazy=True)`,
  - LightGBM: 100 boosting rounds on the same rows (categoricals as pandas categories).
Targets: mlplat under 10% of LightGBM training; within 1.3x of pandera called directly.

    .venv/bin/python benchmarks/bench_validation.py [--rows N] [--repeats 5] [--train-repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from mlplat.core.config.contract import ColumnConfig, SchemaConfig, TargetBalanceConfig
from mlplat.stages.validate.validate import validate_frame

CATEGORIES = {
    "region": ["north", "south", "east", "west", "central"],
    "plan": ["basic", "standard", "premium", "unlimited"],
    "channel": ["web", "app", "store", "phone", "partner", "email"],
    "device": ["ios", "android", "desktop"],
    "country": ["NG", "GH", "UG", "SA", "KE", "EG", "MA", "TZ", "ET", "CM"],
    "segment": ["consumer", "smb", "enterprise", "public"],
}
SCORES = [f"score_{i}" for i in range(1, 9)]
AMOUNTS = [f"amount_{i}" for i in range(1, 5)]
INTS = {
    "age": (18, 100),
    "tenure_months": (0, 240),
    "n_products": (1, 10),
    "n_calls": (0, 100),
    "n_logins": (0, 10_000),
}


def make_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """30 columns: id, date, 6 categories, 5 ints, 14 floats (2 nullable), 2 bools, target."""
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {
        "id": np.arange(rows, dtype="int64") + 1_000_000,
        "event_date": pd.Timestamp("2020-01-01")
        + pd.to_timedelta(rng.integers(0, 1500, rows), "D"),
    }
    for name, values in CATEGORIES.items():
        data[name] = pd.array(np.asarray(values)[rng.integers(0, len(values), rows)], dtype="str")
    for name, (low, high) in INTS.items():
        data[name] = rng.integers(low, high + 1, rows)
    for name in ("balance", "income"):
        values = rng.gamma(2.0, 1000.0, rows)
        values[rng.random(rows) < 0.05] = np.nan
        data[name] = values
    data.update({name: rng.random(rows) for name in SCORES})
    data.update({name: rng.gamma(1.5, 50.0, rows) for name in AMOUNTS})
    data["is_active"] = rng.random(rows) < 0.7
    data["has_card"] = rng.random(rows) < 0.4
    data["target"] = (rng.random(rows) < 0.2).astype("int64")
    return pd.DataFrame(data)


def declared(rows: int) -> SchemaConfig:
    """The schema as conf/schema/*.yaml would declare it."""
    columns = {
        "id": ColumnConfig(dtype="int", unique=True),
        "event_date": ColumnConfig(dtype="datetime", between=["2020-01-01", "2024-12-31"]),
        **{name: ColumnConfig(dtype="str", isin=values) for name, values in CATEGORIES.items()},
        **{
            name: ColumnConfig(dtype="int", between=[low, high])
            for name, (low, high) in INTS.items()
        },
        "balance": ColumnConfig(dtype="float", nullable=True, ge=0),
        "income": ColumnConfig(dtype="float", nullable=True, ge=0),
        r"score_\d+": ColumnConfig(dtype="float", regex=True, between=[0, 1]),
        **{name: ColumnConfig(dtype="float", ge=0) for name in AMOUNTS},
        "is_active": ColumnConfig(dtype="bool"),
        "has_card": ColumnConfig(dtype="bool"),
        "target": ColumnConfig(dtype="int", isin=[0, 1]),
    }
    return SchemaConfig(
        name="bench",
        columns=columns,
        strict=True,
        min_rows=rows // 2,
        target_balance=TargetBalanceConfig(min=0.05, max=0.6),
    )


def hand_written(rows: int) -> pa.DataFrameSchema:
    """What a pandera user writes for the same contract."""

    def balance(df: pd.DataFrame) -> bool:
        return 0.05 <= float((df["target"] == 1).mean()) <= 0.6

    columns = {
        "id": pa.Column("int64", unique=True),
        "event_date": pa.Column(
            "datetime64[ns]",
            pa.Check.in_range(pd.Timestamp("2020-01-01"), pd.Timestamp("2024-12-31")),
            coerce=True,
        ),
        **{name: pa.Column("str", pa.Check.isin(values)) for name, values in CATEGORIES.items()},
        **{
            name: pa.Column("int64", pa.Check.in_range(low, high))
            for name, (low, high) in INTS.items()
        },
        "balance": pa.Column("float64", pa.Check.ge(0), nullable=True),
        "income": pa.Column("float64", pa.Check.ge(0), nullable=True),
        r"score_\d+": pa.Column("float64", pa.Check.in_range(0, 1), regex=True),
        **{name: pa.Column("float64", pa.Check.ge(0)) for name in AMOUNTS},
        "is_active": pa.Column("bool"),
        "has_card": pa.Column("bool"),
        "target": pa.Column("int64", pa.Check.isin([0, 1])),
    }
    checks = [pa.Check(lambda df: len(df) >= rows // 2), pa.Check(balance)]
    return pa.DataFrameSchema(columns, checks=checks, strict=True)


def timed(work: Callable[[], Any]) -> tuple[float, float]:
    """(wall, CPU) seconds: on a shared machine CPU time shows what wall time hides."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def medians(works: dict[str, Callable[[], Any]], repeats: int) -> dict[str, tuple[float, float]]:
    """Interleaved (a, b, a, b, ...) so a burst of load elsewhere hits every contender alike."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in works}
    for _ in range(repeats):
        for name, work in works.items():
            samples[name].append(timed(work))
    return {
        name: (statistics.median(s[0] for s in got), statistics.median(s[1] for s in got))
        for name, got in samples.items()
    }


def train(frame: pd.DataFrame) -> None:
    import lightgbm

    features = frame.drop(columns=["id", "target"]).assign(
        event_date=(frame["event_date"] - pd.Timestamp("2020-01-01")).dt.days,
        **{name: frame[name].astype("category") for name in CATEGORIES},
    )
    dataset = lightgbm.Dataset(features, label=frame["target"], free_raw_data=True)
    lightgbm.train(
        {"objective": "binary", "verbosity": -1, "seed": 0}, dataset, num_boost_round=100
    )


def mlplat_validate(frame: pd.DataFrame, schema: SchemaConfig) -> None:
    report, _ = validate_frame(frame, schema, "target")
    assert report["valid"], report["failures"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--train-repeats", type=int, default=3)
    args = parser.parse_args()

    frame = make_frame(args.rows)
    assert frame.shape[1] == 30
    schema, by_hand = declared(args.rows), hand_written(args.rows)
    by_hand.validate(frame, lazy=True)  # warm-up: imports and pandera's backend registry
    mlplat_validate(frame, schema)
    got = medians(
        {
            "mlplat validation": lambda: mlplat_validate(frame, schema),
            "pandera direct": lambda: by_hand.validate(frame, lazy=True),
        },
        args.repeats,
    )
    got |= medians({"LightGBM 100 rounds": lambda: train(frame)}, args.train_repeats)
    print(f"{args.rows:,} rows x {frame.shape[1]} columns; medians, wall (CPU) seconds")
    for name, (wall, cpu) in got.items():
        print(f"  {name:<20} {wall:8.3f} s  ({cpu:7.3f} s CPU)")
    ours, theirs, lgbm = (
        got[k] for k in ("mlplat validation", "pandera direct", "LightGBM 100 rounds")
    )
    print(
        f"mlplat / pandera      {ours[0] / theirs[0]:.2f}x wall, {ours[1] / theirs[1]:.2f}x CPU "
        "(target <= 1.3x)"
    )
    print(
        f"validation / training {ours[0] / lgbm[0]:.1%} wall, {ours[1] / lgbm[1]:.1%} CPU "
        "(target < 10%)"
    )


if __name__ == "__main__":
    main()
