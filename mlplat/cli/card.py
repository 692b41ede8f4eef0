"""`mlplat card` and `mlplat card diff`: call mlplat.ops.cards, print or write what it returns."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from mlplat.core.tables import Column, Table, print_json, print_table

if TYPE_CHECKING:
    from rich.console import Console


def card_command(
    project: Path, model: str, fmt: str, output: Path | None, overrides: list[str], console: Console
) -> None:
    import sys

    from mlplat.core.card import render
    from mlplat.core.errors import ConfigError
    from mlplat.core.io import write_text
    from mlplat.ops import cards

    if fmt not in render.FORMATS:
        raise ConfigError(
            f"--format '{fmt}' is not one of {', '.join(render.FORMATS)}", key="--format"
        )
    card = cards.card(project, model, overrides)
    rendered = render.one(card, fmt)
    if output is None:
        sys.stdout.write(rendered)
        return
    target = output / render.FORMATS[fmt]
    write_text(target, rendered)
    console.print(f"[green]✓[/] card of {card.details.uri}: {target}", highlight=False)


DIFF_COLUMNS = (
    Column("scope"),
    Column("metric"),
    Column("old", right=True),
    Column("new", right=True),
    Column("change", right=True),
    Column("significant"),
)


def diff_command(
    project: Path, old: str, new: str, overrides: list[str], as_json: bool, markdown: bool
) -> None:
    from mlplat.cli.jobs import stdout_console
    from mlplat.core.card.diff import markdown as as_markdown
    from mlplat.ops import cards

    found = cards.diff(project, old, new, overrides)
    if as_json:
        print_json(asdict(found))
        return
    if markdown:
        import sys

        sys.stdout.write(as_markdown(found))
        return
    out = stdout_console()
    title = f"{found.name} v{found.old_version} -> v{found.new_version}"
    changes = [(c.what, c.old, c.new) for c in (*found.changes, *found.gates)]
    what = (
        Column("what"),
        Column(f"v{found.old_version}", prose=True),
        Column(f"v{found.new_version}", prose=True),
    )
    print_table(out, Table(f"what changed: {title}", what, changes))
    print_table(
        out,
        Table(
            "metrics (significant: the 95% intervals do not overlap)",
            DIFF_COLUMNS,
            [m.row() for m in found.metrics],
        ),
    )
