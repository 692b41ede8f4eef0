"""Data sources (CSV, Parquet, fsspec URLs, encodings) and leak-free splits."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlplat.core import dataio
from mlplat.core.config.data import DataConfig, SplitConfig
from mlplat.core.errors import ConfigError, DataValidationError
from mlplat.core.split import split_rows
from mlplat.example.churn import generate


@pytest.fixture(scope="module")
def churn() -> pd.DataFrame:
    frame = generate(rows=2000, seed=3)
    return frame.assign(household=frame["customer_id"] // 3)  # ~3 customers per household


def config(path: str = "data/churn.csv", fmt: str = "auto", **split: object) -> DataConfig:
    return DataConfig(
        path=path,
        format=fmt,
        target="churn",
        id_column="customer_id",
        timestamp_column="signup_date",
        split=SplitConfig(**split),
    )  # type: ignore[arg-type]


# ---------------------------------------------------------------- sources
@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        pytest.param("t.csv", "auto", id="csv"),
        pytest.param("t.parquet", "auto", id="parquet"),
        pytest.param("t.data", "parquet", id="declared-parquet"),
    ],
)
def test_csv_and_parquet_read_back_the_same_table(
    churn: pd.DataFrame, tmp_path: Path, name: str, fmt: str
) -> None:
    path = tmp_path / name
    if fmt == "parquet" or name.endswith(".parquet"):
        churn.to_parquet(path, index=False)
    else:
        churn.to_csv(path, index=False)
    loaded = dataio.load(config(str(path), fmt))
    assert list(loaded.columns) == list(churn.columns) and len(loaded) == len(churn)
    assert loaded["customer_id"].tolist() == churn["customer_id"].tolist()


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_fsspec_urls_are_read_through_fsspec(churn: pd.DataFrame, suffix: str) -> None:
    import fsspec

    url = f"memory://mlplat-{uuid.uuid4().hex}/churn.{suffix}"
    with fsspec.open(url, "wb") as fh:
        if suffix == "csv":
            fh.write(churn.to_csv(index=False).encode())
        else:
            churn.to_parquet(fh, index=False)
    loaded = dataio.load(config(url))
    assert len(loaded) == len(churn) and loaded["region"].tolist() == churn["region"].tolist()


def test_file_url_is_a_local_path(churn: pd.DataFrame, tmp_path: Path) -> None:
    churn.to_csv(tmp_path / "c.csv", index=False)
    assert len(dataio.load(config((tmp_path / "c.csv").as_uri()))) == len(churn)
    with pytest.raises(ConfigError, match="does not exist"):
        dataio.load(config((tmp_path / "gone.csv").as_uri()))


def test_undecodable_bytes_name_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"id,city,score\n1,Lagos,3\n2,K\xf6ln,4\n")
    with pytest.raises(DataValidationError) as info:
        dataio.read_frame(str(path))
    assert "line 3" in str(info.value) and "'city'" in str(info.value)
    assert info.value.key == "schema.columns.city"


def test_empty_file_is_a_data_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "e.csv").write_bytes(b"")
    with pytest.raises(DataValidationError, match=r"e\.csv' is empty"):
        dataio.read_frame(str(tmp_path / "e.csv"))


# ---------------------------------------------------------------- splits
def sides(frame: pd.DataFrame, data: DataConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    train, test = split_rows(frame, data, "binary")
    assert not set(train) & set(test), "a row is on both sides"
    return frame.iloc[train], frame.iloc[test]


def test_random_split_is_disjoint_and_sized(churn: pd.DataFrame) -> None:
    train, test = sides(churn, config(strategy="random", test_size=0.25))
    assert len(train) + len(test) == len(churn) and len(test) == len(churn) // 4


def test_stratified_split_keeps_class_rates(churn: pd.DataFrame) -> None:
    train, test = sides(churn, config(strategy="stratified", test_size=0.2))
    rate = churn["churn"].mean()
    # stratification leaves at most one row of rounding per class
    assert abs(train["churn"].mean() - rate) < 1 / len(train) + 1e-9
    assert abs(test["churn"].mean() - rate) < 1 / len(test) + 1e-9


@pytest.mark.parametrize(
    "labels",
    [
        pytest.param(["a"] * 50 + ["b"] * 30 + ["c"], id="one-class-of-one-row"),
        pytest.param(["a"] * 50 + ["b"] * 30 + ["c", "d"], id="two-classes-of-one-row"),
        pytest.param(["a"] * 5 + ["b"] * 3 + ["c", "d", "e"], id="more-classes-than-holdout-rows"),
    ],
)
def test_stratified_split_of_classes_too_small_to_stratify(labels: list[str]) -> None:
    """scikit-learn refuses to stratify a class of one row; the split still happens."""
    frame = pd.DataFrame({"churn": labels, "x": range(len(labels))})
    train, test = split_rows(frame, config(strategy="stratified", test_size=0.2), "multiclass")
    assert sorted([*train, *test]) == list(range(len(labels))) and len(test) > 0


@pytest.mark.parametrize("cutoff", [None, "2023-06-01"])
def test_time_split_trains_strictly_on_the_past(churn: pd.DataFrame, cutoff: str | None) -> None:
    train, test = sides(churn, config(strategy="time", test_size=0.2, cutoff=cutoff))
    train_at, test_at = pd.to_datetime(train["signup_date"]), pd.to_datetime(test["signup_date"])
    assert len(train) and len(test)
    assert train_at.max() < test_at.min()
    if cutoff:
        assert train_at.max() < pd.Timestamp(cutoff) <= test_at.min()


def test_the_period_is_the_first_and_last_parseable_date(churn: pd.DataFrame) -> None:
    """What a card says a model was trained and evaluated on, under a time split."""
    from mlplat.core.split import period

    train, test = sides(churn, config(strategy="time", test_size=0.2))
    first, last = period(train, "signup_date"), period(test, "signup_date")
    assert first is not None and last is not None
    stamps = pd.to_datetime(churn["signup_date"])
    assert (first[0], last[1]) == (stamps.min().date().isoformat(), stamps.max().date().isoformat())
    assert first[1] <= last[0]  # the past trains, the future judges
    garbled = pd.DataFrame({"at": ["2024-03-01", "not a date", None, "2023-12-31"]})
    assert period(garbled, "at") == ["2023-12-31", "2024-03-01"]
    assert period(garbled, None) is None and period(garbled, "missing") is None
    assert period(pd.DataFrame({"at": ["never"]}), "at") is None


def test_early_stopping_slice_is_the_latest_training_time(churn: pd.DataFrame) -> None:
    """Under a time split, early stopping watches the latest tenth of training time; otherwise
    the seeded random tenth it always was (so models trained before keep their rounds)."""
    from mlplat.core.split import early_stopping_rows

    train, _ = sides(churn, config(strategy="time", test_size=0.2))
    watched = early_stopping_rows(train, config(strategy="time"), seed=7)
    stamps = pd.to_datetime(train["signup_date"])
    assert watched.sum() == len(train) // 10
    assert stamps[watched].min() >= stamps[~watched].max()
    at_random = early_stopping_rows(train, config(strategy="random"), seed=7)
    np.testing.assert_array_equal(at_random, np.random.default_rng(7).random(len(train)) < 0.1)


@pytest.mark.parametrize(
    ("strategy", "rounds"),
    [
        pytest.param("time", range(1, 3), id="time-stops-at-once"),
        pytest.param("random", range(10, 61), id="random-keeps-boosting"),
    ],
)
def test_training_stops_on_the_future_under_a_time_split(strategy: str, rounds: range) -> None:
    """The latest tenth of time follows another rule (y = -x): watched, it stops training
    after the first round; a random tenth mostly follows the old rule and lets it boost on."""
    from mlplat.core.config import PlatformConfig
    from mlplat.core.config.contract import FeatureConfig
    from mlplat.core.config.model import ModelConfig
    from mlplat.core.features import fit_spec
    from mlplat.stages.train.stage import fit

    rng = np.random.default_rng(0)
    days = pd.Series(pd.date_range("2022-01-01", periods=3000, freq="h")).sample(
        frac=1, random_state=1
    )
    x = rng.uniform(-1, 1, 3000)
    late = (days >= days.quantile(0.9)).to_numpy()
    frame = pd.DataFrame({"at": days.dt.strftime("%Y-%m-%d %H:%M").to_numpy(), "x": x})
    frame["y"] = np.where(late, -x, x)
    data = DataConfig(path="d.csv", target="y", timestamp_column="at")  # type: ignore[arg-type]
    data.split.strategy = strategy
    cfg = PlatformConfig(data=data)
    cfg.model = ModelConfig(task="regression", num_boost_round=60, early_stopping_rounds=5)
    cfg.model.params = {"num_threads": 1, "verbosity": -1, "min_data_in_leaf": 5}
    spec = fit_spec({"x": FeatureConfig(column="x")}, frame)
    spec["target"] = {"column": "y", "task": "regression"}
    assert fit(cfg, spec, frame, callbacks=[]).best_iteration in rounds


def test_group_split_never_puts_a_group_on_both_sides(churn: pd.DataFrame) -> None:
    train, test = sides(churn, config(strategy="group", group_column="household", test_size=0.2))
    assert not set(train["household"]) & set(test["household"])
    assert 0.1 < len(test) / len(churn) < 0.3


def test_group_split_defaults_to_the_id_column(churn: pd.DataFrame) -> None:
    train, test = sides(churn.assign(customer_id=churn["household"]), config(strategy="group"))
    assert not set(train["customer_id"]) & set(test["customer_id"])


@pytest.mark.parametrize(
    ("split", "key"),
    [
        pytest.param({"strategy": "alphabetical"}, "data.split.strategy", id="unknown"),
        pytest.param(
            {"strategy": "group", "group_column": "nope"}, "data.split.group_column", id="group"
        ),
    ],
)
def test_bad_split_declarations_name_their_key(
    churn: pd.DataFrame, split: dict[str, str], key: str
) -> None:
    with pytest.raises(ConfigError) as info:
        split_rows(churn, config(**split), "binary")
    assert info.value.key == key


def test_time_split_needs_a_timestamp(churn: pd.DataFrame) -> None:
    data = config(strategy="time")
    data.timestamp_column = None
    with pytest.raises(ConfigError) as info:
        split_rows(churn, data, "binary")
    assert info.value.key == "data.timestamp_column"


def test_splits_are_reproducible(churn: pd.DataFrame) -> None:
    first = split_rows(churn, config(seed=5), "binary")
    again = split_rows(churn, config(seed=5), "binary")
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))


def test_at_most_samples_large_tables_the_same_way_every_time() -> None:
    from mlplat.core.split import at_most

    assert at_most(500, 1000, seed=1) == slice(None)  # small: every row
    rows = at_most(10_000, 100, seed=1)
    assert isinstance(rows, np.ndarray) and len(set(rows.tolist())) == 100
    assert (np.diff(rows) > 0).all() and rows.max() < 10_000  # in order, in range
    assert (rows == at_most(10_000, 100, seed=1)).all()  # seeded
    assert not (rows == at_most(10_000, 100, seed=2)).all()
