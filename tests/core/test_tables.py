"""The one table helper: at any width, no identifier is cut with an ellipsis or split across
lines, and no word of prose is broken (issue 19, item 10)."""

from __future__ import annotations

import io
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from mlplat.core.tables import Column, Table, print_table

NAME = st.text(alphabet=string.ascii_lowercase + "_.=-/[]()'", min_size=1, max_size=40)
WORDS = st.lists(NAME, min_size=1, max_size=8).map(" ".join)


def rendered(table: Table, width: int) -> str:
    console = Console(file=io.StringIO(), width=width, force_terminal=False, color_system=None)
    print_table(console, table)
    return console.file.getvalue()  # type: ignore[attr-defined]


def whole(output: str, token: str) -> bool:
    return any(token in line for line in output.splitlines())


@st.composite
def tables(draw: st.DrawFn) -> Table:
    kinds = draw(st.lists(st.sampled_from(["id", "number", "prose"]), min_size=1, max_size=7))
    columns = tuple(
        Column(draw(NAME), prose=kind == "prose", right=kind == "number") for kind in kinds
    )
    cell = {"id": NAME, "number": st.integers(-(10**9), 10**9).map(str), "prose": WORDS}
    rows = draw(st.lists(st.tuples(*(cell[kind] for kind in kinds)), min_size=1, max_size=6))
    return Table(draw(WORDS), columns, rows)


@settings(max_examples=150, deadline=None)
@given(table=tables(), width=st.integers(20, 160))
def test_no_identifier_or_word_is_ever_cut_or_split(table: Table, width: int) -> None:
    output = rendered(table, width)
    assert "…" not in output
    for row in table.rows:
        for column, value in zip(table.columns, row, strict=True):
            tokens = str(value).split() if column.prose else [str(value)]
            for token in tokens:
                assert whole(output, token), (token, width, output)
    for line in output.splitlines():  # longer than the width only for an unbreakable token
        assert len(line) <= width or " " not in line.strip().split(": ", 1)[-1], (line, output)


CHECKS = Table(
    "monitor: telco-churn-lgbm (4000 rows)",
    (
        Column("check"),
        Column("feature"),
        Column("value", right=True),
        Column("limit", right=True),
        Column("status"),
    ),
    [
        ("skew.out_of_range", "monthly_charges_in_local_currency", "0.1257", "0.01", "BREACH"),
        ("drift.psi", "log_volatility_of_weekly_usage", "0.9515", "0.2", "BREACH"),
    ],
)


@pytest.mark.parametrize(
    ("width", "layout"),
    [
        pytest.param(120, "table", id="wide-table"),
        pytest.param(80, "table", id="80-columns-table"),
        pytest.param(60, "records", id="narrow-records"),
    ],
)
def test_the_layout_follows_the_width(width: int, layout: str) -> None:
    output = rendered(CHECKS, width)
    assert ("  feature: monthly_charges_in_local_currency" in output) is (layout == "records")
    assert whole(output, "monthly_charges_in_local_currency")
    assert whole(output, "log_volatility_of_weekly_usage")


def test_prose_that_does_not_fit_goes_below_the_table_keyed_by_its_row() -> None:
    table = Table(
        "ML Test Score",
        (Column("test"), Column("points", right=True), Column("evidence", prose=True)),
        [("1.1", "1.0", "schema in conf/schema/a_rather_long_schema_file_name_for_churn.yaml")],
    )
    output = rendered(table, 40)
    assert "evidence:" in output
    assert "  1.1: schema in" in output or "  1.1: schema" in output
    assert whole(output, "conf/schema/a_rather_long_schema_file_name_for_churn.yaml")


def test_cells_are_text_not_markup() -> None:
    table = Table("t", (Column("check"),), [("isin(['a', 'b']) [bold]x[/bold]",)])
    assert "isin(['a', 'b']) [bold]x[/bold]" in rendered(table, 80)
