"""Everything the collectors may look at, gathered once: project files, MLflow runs, registry.

Collectors are pure functions of `Facts`, so a test can build one by hand; `gather` is the
only place that reads the disk and the tracking store.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlplat.core.config import PlatformConfig
    from mlplat.tracking.tracker import Tracker

MAX_RUNS = 2000
MONITOR_EXPERIMENT = "mlplat-monitor"  # where `mlplat monitor` logs (mlplat.ops.monitoring)
STORAGE_EXPERIMENT = "mlplat-storage"  # where `mlplat gc` logs (mlplat.ops.gc)


@dataclass(frozen=True)
class Run:
    run_id: str
    experiment: str
    status: str
    tags: dict[str, str]
    metrics: dict[str, float]


@dataclass
class Facts:
    project: Path
    cfg: PlatformConfig
    model_name: str
    today: dt.date
    files: dict[str, str] = field(default_factory=dict)  # project-relative path -> text
    runs: list[Run] = field(default_factory=list)  # training runs (not monitor runs)
    monitor_runs: list[Run] = field(default_factory=list)
    storage_runs: list[Run] = field(default_factory=list)  # `mlplat gc`'s storage.*, newest first
    version_tags: dict[str, dict[str, str]] = field(default_factory=dict)  # version -> tags
    alias_actions: list[str] = field(default_factory=list)  # gate | promote | rollback

    def texts(self, *prefixes: str) -> dict[str, str]:
        return {p: t for p, t in self.files.items() if p.startswith(prefixes)}

    def latest_version_tags(self) -> dict[str, str]:
        if not self.version_tags:
            return {}
        return self.version_tags[max(self.version_tags, key=int)]


WATCHED = (
    ".github",
    ".gitlab-ci.yml",
    ".ci",  # scripts CI calls
    ".pre-commit-config.yaml",
    "renovate.json",
    "tests",
    "Makefile",
    "dvc.yaml",
)


def read_files(project: Path) -> dict[str, str]:
    """CI, pre-commit, dependency bots and tests: text files only, small ones."""
    out = {}
    for name in WATCHED:
        root = project / name
        paths = [root] if root.is_file() else sorted(root.rglob("*")) if root.is_dir() else []
        for path in paths:
            if (
                path.is_file()
                and path.suffix in {"", ".yml", ".yaml", ".py", ".json", ".toml"}
                and path.stat().st_size < 1_000_000
            ):
                out[str(path.relative_to(project))] = path.read_text(
                    encoding="utf-8", errors="replace"
                )
    return out


def _runs(client: Any) -> list[Run]:
    experiments = {e.experiment_id: e.name for e in client.search_experiments()}
    if not experiments:
        return []
    found = client.search_runs(
        list(experiments), max_results=MAX_RUNS, order_by=["attributes.start_time DESC"]
    )
    return [
        Run(
            r.info.run_id,
            experiments[r.info.experiment_id],
            r.info.status,
            dict(r.data.tags),
            dict(r.data.metrics),
        )
        for r in found
    ]


def _registry(tracker: Tracker, name: str) -> tuple[dict[str, dict[str, str]], list[str]]:
    from mlplat.core.errors import RegistryError
    from mlplat.tracking import aliases

    try:
        versions = tracker.client.search_model_versions(f"name='{name}'")
        events = aliases.history(tracker, name)
    except (tracker.error, RegistryError):  # no such model yet: no registry evidence
        return {}, []
    return {str(v.version): dict(v.tags) for v in versions}, [e.action for e in events]


def gather(cfg: PlatformConfig, project: Path, tracking: str, today: dt.date) -> Facts:
    from mlplat.core import provenance
    from mlplat.tracking.tracker import Tracker

    tracker = Tracker(tracking)
    runs = _runs(tracker.client)
    name = provenance.model_name(cfg)
    versions, actions = _registry(tracker, name)
    return Facts(
        project=project,
        cfg=cfg,
        model_name=name,
        today=today,
        files=read_files(project),
        runs=[r for r in runs if r.experiment not in (MONITOR_EXPERIMENT, STORAGE_EXPERIMENT)],
        monitor_runs=[r for r in runs if r.experiment == MONITOR_EXPERIMENT],
        storage_runs=[r for r in runs if r.experiment == STORAGE_EXPERIMENT],
        version_tags=versions,
        alias_actions=actions,
    )
