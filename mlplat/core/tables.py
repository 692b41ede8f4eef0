"""Tables a person reads, laid out so that no identifier is ever cut or split.

Every command prints its tables through `print_table` (and its `--json` through `print_json`).
The layout is chosen for the console's width (a terminal's, `COLUMNS`, or 80 in a CI log),
never by shrinking a cell:

1. a table, when every identifier cell fits whole on one line and every prose cell fits with
   its longest word on one line and at least PROSE_WIDTH wide (prose wraps between words,
   never inside one);
2. else the table without its rightmost prose columns, which are listed below it, each entry
   keyed by its row;
3. else one record per row, `header: value` lines.

Titles and lines outside the table wrap between words only: a word longer than the width (a
path) stays whole on its own line, for the terminal to wrap or a CI log to keep.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

Cell = str | tuple[str, str]  # plain text, or (text, rich style) such as ("BREACH", "bold red")
GAP = 2  # spaces between columns
PROSE_WIDTH = 20
INDENT = "  "


@dataclass(frozen=True)
class Column:
    header: str
    prose: bool = False  # may wrap between words; otherwise the cell stays on one line
    right: bool = False  # numbers: right-aligned


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[Column, ...]
    rows: Sequence[Sequence[Cell]] = ()
    show_header: bool = True


def text(cell: Cell) -> str:
    return cell if isinstance(cell, str) else cell[0]


def _width(value: str) -> int:
    from rich.cells import cell_len

    return max((cell_len(line) for line in value.splitlines()), default=0)


def _longest_word(value: str) -> int:
    from rich.cells import cell_len

    return max((cell_len(word) for word in value.split()), default=0)


def needs(table: Table) -> list[tuple[int, int]]:
    """(narrowest, natural) width of each column: the narrowest keeps every identifier whole and
    every word of prose unbroken (and prose at least PROSE_WIDTH wide: squeezed thinner, a
    sentence becomes a column of single words, better listed below the table); headers may wrap
    between their words."""
    out = []
    for i, column in enumerate(table.columns):
        cells = [text(row[i]) for row in table.rows]
        header = _longest_word(column.header) if table.show_header else 0
        natural = max([_width(column.header) if table.show_header else 0, *map(_width, cells)])
        if column.prose:
            narrowest = max([header, min(natural, PROSE_WIDTH), *map(_longest_word, cells)])
        else:
            narrowest = max([header, *map(_width, cells)])
        out.append((max(narrowest, 1), max(natural, narrowest, 1)))
    return out


def widths(ranges: Sequence[tuple[int, int]], width: int) -> list[int] | None:
    """Column widths that fit `width`, every column at least its narrowest; spare room goes to
    the columns that wrap, in proportion to what they lack. None: even the narrowest do not fit."""
    room = width - GAP * (len(ranges) - 1) - 1  # rich pads the last column too
    out = [low for low, _ in ranges]
    spare = room - sum(out)
    if spare < 0:
        return None
    lacking = [high - low for low, high in ranges]
    total = sum(lacking)
    if total <= spare:
        return [high for _, high in ranges]
    for i, lack in enumerate(lacking):
        out[i] += spare * lack // total
    return out


def _rich_table(table: Table, columns: list[int], sizes: list[int]) -> Any:
    from rich import box
    from rich.table import Table as RichTable
    from rich.text import Text

    shown = RichTable(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1, 0, 0),
        show_header=table.show_header,
        header_style="bold",
    )
    for i, size in zip(columns, sizes, strict=True):
        column = table.columns[i]
        shown.add_column(
            Text(column.header, no_wrap=False),  # a header wraps between its words
            width=size,
            no_wrap=not column.prose,
            overflow="fold",  # never reached: no word is wider than its column
            justify="right" if column.right else "left",
        )
    for row in table.rows:
        shown.add_row(*(_styled(row[i]) for i in columns))
    return shown


def _styled(cell: Cell) -> Any:
    """Cells are text, never markup: a value like `[1, 2]` prints as it is."""
    from rich.text import Text

    return Text(cell) if isinstance(cell, str) else Text(cell[0], style=cell[1])


def _moved(table: Table, ranges: list[tuple[int, int]], width: int) -> list[int] | None:
    """The prose columns to list below the table, the rightmost (least important) first, so the
    rest fits; None if even the table without any prose column does not fit."""
    prose = [i for i, c in reversed(list(enumerate(table.columns))) if c.prose and i]
    moved: list[int] = []
    for i in prose:
        moved.append(i)
        kept = [r for j, r in enumerate(ranges) if j not in moved]
        if widths(kept, width) is not None:
            return moved
    return None


def _keys(table: Table, kept: list[int]) -> list[str]:
    """What names a row below the table: its first cell, or, when that repeats, every kept
    identifier cell (`region / isin([...])`)."""
    first = [text(row[0]) for row in table.rows]
    if len(set(first)) == len(first):
        return first
    columns = table.columns
    names = [i for i in kept if not (columns[i].prose or columns[i].right)] or kept[:1]
    return [" / ".join(text(row[i]) for i in names) for row in table.rows]


def print_line(console: Console, line: str | Any, indent: str = INDENT) -> None:
    """One line of text, wrapped between words to the console's width; a word longer than the
    width stays whole on its own line (never folded, cropped or cut with an ellipsis)."""
    import textwrap

    from rich.text import Text

    plain = line if isinstance(line, str) else line.plain
    if _width(plain) <= console.width:
        shown = Text(line) if isinstance(line, str) else line
        console.print(shown, soft_wrap=True, highlight=False)
        return
    lead = plain[: len(plain) - len(plain.lstrip())]
    for part in textwrap.wrap(
        plain,
        console.width,
        initial_indent="",
        subsequent_indent=lead + indent,
        break_long_words=False,
        break_on_hyphens=False,
    ):
        console.print(Text(part), soft_wrap=True, highlight=False)


def _print_below(console: Console, table: Table, moved: list[int], kept: list[int]) -> None:
    keys = _keys(table, kept)
    for i in moved:
        listed = [(key, text(row[i])) for key, row in zip(keys, table.rows, strict=True)]
        listed = [(key, value) for key, value in listed if value.strip()]
        if listed:
            print_line(console, f"{table.columns[i].header}:")
        for key, value in listed:
            print_line(console, f"{INDENT}{key}: {value}")


def _print_records(console: Console, table: Table) -> None:
    from rich.text import Text

    for number, row in enumerate(table.rows):
        if number:
            console.print()
        for i, (column, cell) in enumerate(zip(table.columns, row, strict=True)):
            line = Text(f"{INDENT if i else ''}{column.header}: ")
            line.append_text(_styled(cell))
            print_line(console, line)


def print_table(console: Console, table: Table) -> None:
    """Print `table` in the first layout that keeps every identifier whole at this width."""
    if table.title:
        print_line(console, table.title)
    if not table.rows:
        console.print(f"{INDENT}(none)", highlight=False)
        return
    ranges = needs(table)
    sizes = widths(ranges, console.width)
    everything = list(range(len(table.columns)))
    if sizes is not None:
        console.print(_rich_table(table, everything, sizes))
        return
    moved = _moved(table, ranges, console.width)
    if moved is None:
        _print_records(console, table)
        return
    kept = [i for i in everything if i not in moved]
    sizes = widths([ranges[i] for i in kept], console.width)
    console.print(_rich_table(table, kept, sizes or []))
    _print_below(console, table, moved, kept)


def print_json(data: Any, *, one_line: bool = False) -> None:
    """A command's result for machines, on stdout: the same data its table shows, and more."""
    indent = None if one_line else 2
    sys.stdout.write(json.dumps(data, indent=indent, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()
