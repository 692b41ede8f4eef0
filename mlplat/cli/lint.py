"""`mlplat lint`: print findings as `file:line: CODE message`, like ruff, and a count."""

from __future__ import annotations

from pathlib import Path


def lint_command(project: Path) -> bool:
    """True when no finding is an error (warnings print but do not fail)."""
    import typer

    from mlplat.project.lint import lint

    findings = lint(project)
    for finding in findings:
        typer.echo(str(finding))
    errors = sum(f.error for f in findings)
    warnings = len(findings) - errors
    typer.echo(
        f"Found {errors} error(s), {warnings} warning(s)." if findings else "All checks passed!",
        err=True,
    )
    return errors == 0
