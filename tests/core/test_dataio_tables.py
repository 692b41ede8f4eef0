"""Tables the stages hand each other: remembered in the stage process, never stale."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from mlplat.core import dataio
from mlplat.core.config.data import DataConfig


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    dataio.forget()
    yield
    dataio.forget()


def _frame(n: int = 5) -> pd.DataFrame:
    return pd.DataFrame({"a": range(n), "b": [f"x{i}" for i in range(n)]})


def test_a_written_table_reads_back_equal_and_as_a_copy(tmp_path: Path) -> None:
    target = tmp_path / "t.parquet"
    frame = _frame()
    dataio.write_table(frame, target)
    frame.loc[0, "a"] = 99  # the writer goes on changing its own frame
    first = dataio.read_table(target)
    pd.testing.assert_frame_equal(first, _frame())
    first["a"] = -1  # and a reader changes the one it got
    pd.testing.assert_frame_equal(dataio.read_table(target), _frame())
    pd.testing.assert_frame_equal(pd.read_parquet(target), _frame())  # the file is the same


def test_a_file_changed_after_it_was_remembered_is_read_again(tmp_path: Path) -> None:
    target = tmp_path / "t.parquet"
    dataio.write_table(_frame(), target)
    _frame(7).to_parquet(target, index=False)  # changed behind the cache's back
    assert len(dataio.read_table(target)) == 7


def test_the_source_is_parsed_once_while_unchanged(tmp_path: Path) -> None:
    source = tmp_path / "data.csv"
    _frame().to_csv(source, index=False)
    data = DataConfig(path=str(source), target="a")
    pd.testing.assert_frame_equal(dataio.load(data), _frame())
    stamp = os.stat(source).st_mtime_ns
    source.write_text("a,b\n1,y\n")  # same path, new content: read again
    os.utime(source, ns=(stamp + 10**9, stamp + 10**9))
    assert dataio.load(data).to_dict("list") == {"a": [1], "b": ["y"]}


def test_only_the_last_tables_are_kept_and_forget_drops_them(tmp_path: Path) -> None:
    paths = [tmp_path / f"{i}.parquet" for i in range(dataio.REMEMBERED + 1)]
    for path in paths:
        dataio.write_table(_frame(), path)
    assert len(dataio._tables) == dataio.REMEMBERED
    assert os.path.realpath(paths[0]) not in dataio._tables  # the oldest went first
    dataio.forget()
    assert not dataio._tables
