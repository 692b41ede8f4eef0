"""`mlplat deploy render`: hand over to ops.deploy, write or check the files, print them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core.tables import Column, Table, print_json, print_line, print_table

if TYPE_CHECKING:
    from rich.console import Console

    from mlplat.ops.deploy import Rendered

COLUMNS = (Column("file"), Column("kind"), Column("validated"), Column("status"))


@dataclass(frozen=True)
class RenderOptions:
    model: str
    target: str
    output: Path
    image: str | None = None
    check: bool = False


def summary(rendered: Rendered, output: Path, stale: list[str], check: bool) -> dict[str, Any]:
    def status(name: str) -> str:
        if name in stale:
            return "stale" if check else "written"
        return "current"

    files = [
        {
            "file": name,
            "kind": text.split("\nkind: ", 1)[1].split("\n", 1)[0],
            "validated": f"kubernetes {rendered.kubernetes_version}"
            if name in rendered.validated
            else "no (custom resource)",
            "status": status(name),
        }
        for name, text in rendered.files.items()
    ]
    return {
        "target": str(rendered.target),
        "model": rendered.uri,
        "image": rendered.facts.image,
        "output": str(output),
        "files": files,
        "stale": stale if check else [],
        "warnings": list(rendered.warnings),
    }


def render_command(
    project: Path, options: RenderOptions, overrides: list[str], console: Console, as_json: bool
) -> bool:
    """Write the manifests (or, with check, only compare them); False when check finds stale."""
    from mlplat.ops import deploy

    rendered = deploy.render_project(
        project, overrides, options.model, options.target, options.image
    )
    stale = deploy.stale(rendered, options.output)
    if not options.check:
        deploy.write(rendered, options.output)
    result = summary(rendered, options.output, stale, options.check)
    if as_json:
        print_json(result)
    else:
        rows = [(f["file"], f["kind"], f["validated"], f["status"]) for f in result["files"]]
        title = f"{result['target']} manifests of {result['model']} in {result['output']}"
        print_table(console, Table(title, COLUMNS, rows))
        for line in result["warnings"]:
            print_line(console, f"warning: {line}")
        if options.check and stale:
            print_line(console, "stale: re-render with mlplat deploy render (without --check)")
    return not (options.check and stale)
