"""`mlplat notify test` and `listen`: call mlplat.ops.notify, print what it returns."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlplat.core.tables import print_json

if TYPE_CHECKING:
    from rich.console import Console

    from mlplat.ops.notify import Heard


def print_warnings(lines: tuple[str, ...], console: Console) -> None:
    """Notifications that were not delivered: said, never fatal."""
    for line in lines:
        console.print(f"[yellow]warning:[/] {line}", highlight=False, soft_wrap=True)


def test_command(
    project: Path, target: str, overrides: list[str], console: Console, as_json: bool
) -> bool:
    """Whether the sample event was delivered."""
    from dataclasses import asdict

    from mlplat.cli.jobs import stdout_console
    from mlplat.ops import notify

    done = notify.test(project, target, overrides)
    if as_json:
        print_json(asdict(done))
        return done.ok
    status = f"HTTP {done.status}" if done.status is not None else "no answer"
    tries = f"{done.attempts} attempt(s)"
    if done.ok:
        stdout_console().print(
            f"✓ test event {done.event} delivered to '{target}' ({status}, {tries})",
            highlight=False,
        )
    else:
        console.print(f"[bold red]✗[/] '{target}': {done.detail}", highlight=False, soft_wrap=True)
    return done.ok


def listen_command(
    project: Path, host: str, port: int, overrides: list[str], console: Console
) -> None:
    from mlplat.ops import notify

    def report(heard: Heard) -> None:
        sent = ", ".join(f"{d.target} {d.outcome.value}" for d in heard.deliveries)
        line = f"{heard.status} {heard.message}" + (f" -> {sent}" if sent else "")
        console.print(line, highlight=False, soft_wrap=True)

    server = notify.server(notify.listener(project, overrides), host, port, report)
    console.print(
        f"listening for MLflow registry webhooks on http://{host}:{server.server_port}/ "
        "(Ctrl-C stops)",
        highlight=False,
        soft_wrap=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        server.server_close()
