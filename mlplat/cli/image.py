"""`mlplat image build|test`: command bodies and their printing; the work is in `mlplat.image`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from mlplat.core.config.ops import ServingConfig
    from mlplat.image.build import BuildResult
    from mlplat.image.smoke import SmokeResult
    from mlplat.tracking.tracker import Tracker


def settings(project: Path) -> tuple[ServingConfig, Tracker]:
    """conf/serving and the tracking store, as `mlplat serve` reads them; outside a project, the
    defaults and $MLFLOW_TRACKING_URI or the sqlite store in the working directory."""
    from mlplat.pipeline.compose import project_config
    from mlplat.tracking.tracker import Tracker

    serving, uri = project_config(project, [])
    return serving, Tracker.of(project, uri)


def build_command(
    project: Path,
    model: str,
    tag: str | None,
    base: str | None,
    context_only: Path | None,
    console: Console,
) -> BuildResult:
    from mlplat.image.build import build_image, write_only

    serving, tracker = settings(project)
    chosen = base or serving.base_image
    if context_only is not None:
        result = write_only(model, tracker, chosen, context_only, serving.workers)
        console.print(
            f"[green]✓[/] build context for {result.model.uri} in [bold]{result.context.path}[/]"
        )
        return result
    with console.status(f"[bold]image[/]: building {model} on {chosen}"):
        result = build_image(model, tracker, chosen, tag, serving.workers)
    print_build(result, console)
    return result


def print_build(result: BuildResult, console: Console) -> None:
    image = result.image
    assert image is not None
    console.print(
        f"[green]✓[/] built [bold]{image.tag}[/] ({image.size_bytes / 1e6:.0f} MB, "
        f"{image.seconds:.1f}s)"
    )
    console.print(f"  digest {image.digest}")
    if result.model.version:
        console.print(
            f"  recorded on models:/{result.model.name}/{result.model.version} "
            "(tags mlplat.image.tag, mlplat.image.digest)"
        )


def test_command(tag: str, console: Console) -> SmokeResult:
    from mlplat.image.engine import connect
    from mlplat.image.smoke import smoke_test

    client = connect()
    with console.status(f"[bold]image test[/]: running {tag} on 127.0.0.1"):
        result = smoke_test(client, tag)
    console.print(
        f"[green]✓[/] {tag}: ready in {result.seconds_to_ready:.2f}s on 127.0.0.1:{result.port}, "
        f"uid {result.uid}, {result.rows} sample rows match the bundle "
        f"(max diff {result.max_abs_diff:.1e}), stopped in {result.seconds_to_stop:.2f}s "
        f"with exit code {result.exit_code}"
    )
    return result
