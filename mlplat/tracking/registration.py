"""Registration after the gates, for `mlplat run`, the DVC `register` stage and a sweep's best
trial: one registry version per distinct model, and an exit code that says what the gates said.

A model is the same model when its data (md5), resolved config (hash) and training code (the
mlplat and LightGBM versions) are: an identical re-run registers nothing and moves no alias.
The project's git commit is recorded on every version but is not part of this identity: with the
data and the whole resolved config hashed, a commit that changes neither changes no model.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from mlplat.core import provenance
from mlplat.core.errors import GateError
from mlplat.core.vocabulary import NotifyEvent
from mlplat.tracking import aliases, cards, gating, notices
from mlplat.tracking import runs as tracking

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console

    from mlplat.core.config import PlatformConfig
    from mlplat.core.stage import ArtifactPaths
    from mlplat.stages.evaluate.verdicts import Decision
    from mlplat.tracking.tracker import Tracker

UNKNOWN_DATA = ("", "remote", "None")  # a source with no md5: never known to be identical


@dataclass(frozen=True)
class Registration:
    """What registration did: the version (new, or the identical one kept), the verdict."""

    name: str
    version: str
    verdict: Decision
    identical: bool = False
    promoted: bool = False
    warnings: tuple[str, ...] = ()  # e.g. a notification that was not delivered

    @property
    def passed(self) -> bool:
        return self.verdict.passed

    def champion_line(self) -> str:
        if self.promoted:
            return f"@champion is v{self.version}"
        stays = self.verdict.champion_version
        return f"@champion stays v{stays}" if stays else "no champion yet"


def _installed(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "unknown"


def identity(cfg: PlatformConfig, data_md5: str, config_hash: str | None = None) -> dict[str, str]:
    """The tags that make two versions the same model."""
    import mlplat

    return {
        "data_md5": data_md5,
        "config_hash": config_hash or provenance.config_hash(cfg),
        "mlplat_version": mlplat.__version__,
        "lightgbm_version": _installed("lightgbm"),
    }


def identical_version(tracker: Tracker, name: str, same: dict[str, str]) -> str | None:
    """The latest version of `name` whose identity tags all equal `same`, if any."""
    if same["data_md5"] in UNKNOWN_DATA:
        return None
    try:
        versions = tracker.client.search_model_versions(f"name='{name}'")
    except tracker.error:  # no such model yet
        return None
    found = [
        int(v.version) for v in versions if all(v.tags.get(k) == val for k, val in same.items())
    ]
    return str(max(found)) if found else None


def register(
    cfg: PlatformConfig,
    tracker: Tracker,
    paths: ArtifactPaths,
    name: str,
    verdict: Decision,
    model_uri: Callable[[], str],
    tags: dict[str, str],
    console: Console,
) -> Registration:
    """Register the judged model as `@challenger` and let the verdict move `@champion`; or, if
    an identical version exists, record the verdict on this run and register nothing.
    `tags` must hold `data_md5` (and may hold `config_hash`, e.g. a sweep trial's)."""
    same = identity(cfg, tags["data_md5"], tags.get("config_hash"))
    earlier = identical_version(tracker, name, same)
    if earlier is not None:
        gating.record(cfg, paths, verdict, console)
        tracking.set_tags({"mlplat.identical_to": f"{name}/{earlier}"})
        console.print(
            f"  [yellow]=[/] register   identical to version {earlier} (same data, config and "
            "code); not registered, aliases unchanged"
        )
        return Registration(name, earlier, verdict, identical=True)
    registered = tracking.register(
        tracker, model_uri(), name, {**tags, **same, **gating.version_tags(verdict)}
    )
    console.print(f"  [green]✓[/] register   {name} v{registered} @challenger")
    promoted = gating.conclude(cfg, tracker, paths, name, registered, verdict, console)
    card = cards.at_registration(tracker.client, name, registered, cfg.card)
    if card:
        console.print(f"  [green]✓[/] card       {card} on the version's run (`mlplat card`)")
    warnings = _notify(
        cfg, tracker, name, registered, tags.get("run_id", ""), card, verdict, promoted
    )
    for line in warnings:
        console.print(f"  [yellow]![/] notify     {line}", highlight=False)
    return Registration(name, registered, verdict, promoted=promoted, warnings=warnings)


def _notify(
    cfg: PlatformConfig,
    tracker: Tracker,
    name: str,
    version: str,
    run_id: str,
    card: str,
    verdict: Decision,
    promoted: bool,
) -> tuple[str, ...]:
    """The registration's events, and the gate's promotion with its card diff."""
    lines = notices.at_registration(cfg.notify, name, version, run_id, card, verdict, promoted)
    if promoted and notices.wanted(cfg.notify, NotifyEvent.PROMOTED):
        moved = aliases.history(tracker, name)[-1]
        lines += notices.at_move(cfg.notify, tracker.client, name, moved)
    return lines


def failure(cfg: PlatformConfig, registration: Registration | None) -> str | None:
    """Why the command must exit 1 (a version failed its gates), or None."""
    if registration is None or registration.passed or not cfg.gates.fail_exit:
        return None
    what = (
        f"identical to v{registration.version}, not registered"
        if registration.identical
        else f"registered as @challenger, {registration.champion_line()}"
    )
    return (
        f"{registration.name} v{registration.version} failed its gates "
        f"({'; '.join(registration.verdict.failed)}): {what}; "
        "gates.fail_exit=false exits 0 while exploring"
    )


def enforce(cfg: PlatformConfig, registration: Registration | None) -> None:
    """Exit 1 (a failed check) when the version failed its gates and gates.fail_exit is on."""
    message = failure(cfg, registration)
    if message:
        raise GateError(message, key="gates")
