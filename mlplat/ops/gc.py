"""`mlplat gc`: list what the stores hold, plan by the retention policy, apply the plan.

Apply is crash-safe by being idempotent, not by a journal: each deletion re-reads what it needs
right before it acts (an alias moved since the plan stops a version's deletion), deleting what
is already gone is a no-op, and the policy's decisions do not change as unkept things go. A
rerun after a kill at any point plans what is left and finishes the job.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core.errors import RegistryError
from mlplat.ops import dvc_cache
from mlplat.ops.retention import (
    DAY,
    Action,
    Facts,
    Item,
    Kind,
    ModelFact,
    OrphanFact,
    Plan,
    RunFact,
    VersionFact,
    champion_until,
    plan,
)
from mlplat.serving.lease import lease_dir, read_leases
from mlplat.tracking import aliases, storage
from mlplat.tracking.tracker import Tracker

if TYPE_CHECKING:
    from mlplat.core.config import PlatformConfig

STORAGE_EXPERIMENT = "mlplat-storage"
# Seconds to pause before each deletion, so that a test can kill an apply between two of them.
STEP_DELAY_ENV = "MLPLAT_GC_STEP_DELAY"
PARENT_TAG, BEST_TRIAL_TAG, SHA_TAG = "mlflow.parentRunId", "mlplat.best_run_id", "mlplat.git_sha"


@dataclass(frozen=True)
class Planned:
    plan: Plan
    facts: Facts
    tracker: Tracker
    dvc: bool  # the project is a DVC repository


@dataclass(frozen=True)
class Applied:
    deleted: int  # soft deletions (runs, logged models) and registry versions deleted
    purged: int  # runs, logged models and orphaned directories removed with their artifacts
    cache_objects: int  # DVC cache objects collected
    skipped: tuple[str, ...]  # items the store no longer allowed deleting, and why


def make_plan(project: Path, cfg: PlatformConfig) -> Planned:
    from mlplat.core.metric_names import LOWER_IS_BETTER, PRIMARY

    tracker = Tracker.of(project, cfg.tracking.uri)
    metric = PRIMARY[cfg.model.task]
    facts = _facts(tracker, cfg, project, metric, metric in LOWER_IS_BETTER)
    price, currency = cfg.budget.price_per_gb_month, cfg.budget.currency
    first = plan(facts, cfg.retention, price, currency)
    dvc = dvc_cache.is_dvc_project(project)
    if dvc:  # the kept runs' commits decide which DVC outputs stay
        commits = first.kept_commits(facts.runs)
        cache = dvc_cache.cache_facts(project, commits, cfg.retention.keep_dvc_experiments)
        facts = replace(facts, cache=tuple(cache))
        first = plan(facts, cfg.retention, price, currency)
    return Planned(first, facts, tracker, dvc)


def _facts(tracker: Tracker, cfg: PlatformConfig, project: Path, metric: str, lower: bool) -> Facts:
    now = time.time()
    experiments = tracker.client.search_experiments()
    dirs = storage.owned_dirs(tracker, (e.artifact_location for e in experiments))  # before ids
    ids = [str(e.experiment_id) for e in experiments]
    listed = storage.all_runs(tracker, ids)
    active, deleted = storage.all_logged_models(tracker, ids, dirs)
    grace = cfg.retention.grace_days * DAY
    old_runs, old_models = storage.deleted_before(tracker, grace, listed, deleted)
    runs = tuple(_run(tracker, r, metric, old_runs) for r in listed)
    models = tuple(
        ModelFact(
            m.model_id,
            m.source_run_id,
            storage.artifact_bytes(tracker, m.artifact_location),
            deleted=gone,
            purgeable=m.model_id in old_models,
        )
        for found, gone in ((active, False), (deleted, True))
        for m in found
    )
    owners = ({r.run_id for r in runs}, {m.model_id for m in models})
    orphans = storage.orphans(tracker, dirs, *owners)
    return Facts(
        now=now,
        metric=metric,
        lower_is_better=lower,
        runs=runs,
        models=models,
        versions=tuple(_versions(tracker, now)),
        orphans=tuple(OrphanFact(o.uri, o.bytes) for o in orphans),
        leased=_leased(project, now, cfg.retention.lease_ttl_seconds),
    )


def _run(tracker: Tracker, run: Any, metric: str, purgeable: set[str]) -> RunFact:
    info, tags = run.info, run.data.tags
    commit = tags.get(SHA_TAG)
    return RunFact(
        run_id=info.run_id,
        name=info.run_name or "",
        experiment_id=str(info.experiment_id),
        status=info.status,
        started=(info.start_time or 0) / 1000,
        bytes=storage.artifact_bytes(tracker, info.artifact_uri),
        metric=run.data.metrics.get(metric),
        parent_id=tags.get(PARENT_TAG),
        best_trial_id=tags.get(BEST_TRIAL_TAG),
        commit=commit if commit and commit != "unknown" else None,
        deleted=info.lifecycle_stage == "deleted",
        purgeable=info.run_id in purgeable,
    )


def _versions(tracker: Tracker, now: float) -> Iterator[VersionFact]:
    """Every registry version, with the aliases on it and when it was last @champion (version
    search leaves aliases out: they come from the registered models)."""
    names: dict[str, tuple[dict[str, str], dict[str, float]]] = {}
    for version in storage.all_versions(tracker):
        if version.name not in names:
            pointers = aliases.pointers(tracker, version.name)
            moves = [
                (dt.datetime.fromisoformat(e.at).timestamp(), e.version)
                for e in aliases.history(tracker, version.name)
                if e.alias == aliases.CHAMPION
            ]
            # the last recorded champion is champion until now only if the alias still says so
            still = bool(moves) and pointers.get(aliases.CHAMPION) == moves[-1][1]
            end = now if still or not moves else moves[-1][0]
            names[version.name] = (pointers, champion_until(moves, end))
        pointers, until = names[version.name]
        source = str(version.source or "")
        yield VersionFact(
            name=version.name,
            version=str(version.version),
            model_id=source.removeprefix("models:/") if source.startswith("models:/m-") else None,
            run_id=version.run_id or None,
            aliases=tuple(sorted(a for a, v in pointers.items() if v == str(version.version))),
            champion_until=until.get(str(version.version)),
        )


def _leased(project: Path, now: float, ttl: float) -> frozenset[str]:
    return frozenset(
        f"{lease.model}/{lease.version}"
        for lease in read_leases(lease_dir(project))
        if lease.live(now, ttl)
    )


def apply(planned: Planned, project: Path, cfg: PlatformConfig) -> Applied:
    """Delete what the plan says, in the order that keeps every step safe to interrupt:
    registry versions, then logged models and runs (soft), then purges, then the DVC cache."""
    tracker, plan_ = planned.tracker, planned.plan
    skipped: list[str] = []
    deleted = 0
    for item in plan_.of(Kind.VERSION, Action.DELETE):
        _pause()
        deleted += _delete_version(tracker, item, project, cfg, skipped)
    gone = {r.run_id for r in planned.facts.runs if r.deleted}
    gone |= {m.model_id for m in planned.facts.models if m.deleted}
    for kind, delete in (
        (Kind.LOGGED_MODEL, tracker.client.delete_logged_model),
        (Kind.RUN, lambda run_id: storage.delete_run(tracker, run_id)),
    ):
        for item in plan_.of(kind, Action.DELETE, Action.PURGE):
            if item.id in gone:  # deleted before (an earlier apply): only its purge is left
                continue
            _pause()
            deleted += _soft(tracker, item, delete)
    purged = _purge(tracker, plan_, cfg)
    objects = 0
    if planned.dvc and plan_.of(Kind.DVC_CACHE, Action.PURGE):
        _pause()
        commits = plan_.kept_commits(planned.facts.runs)
        objects = dvc_cache.collect(project, commits, cfg.retention.keep_dvc_experiments)
    return Applied(deleted, purged, objects, tuple(skipped))


def _pause() -> None:
    delay = float(os.environ.get(STEP_DELAY_ENV) or 0)
    if delay:
        time.sleep(delay)


def _soft(tracker: Tracker, item: Item, delete: Callable[[str], Any]) -> bool:
    """A run or logged model to the deleted stage; one already deleted or gone is done."""
    try:
        delete(item.id)
    except tracker.error as exc:
        if tracker.missing(exc):
            return False
        raise
    return True


def _delete_version(
    tracker: Tracker, item: Item, project: Path, cfg: PlatformConfig, skipped: list[str]
) -> bool:
    """Delete a registry version, unless an alias or a live server has taken it since the
    plan (the plan is minutes old; an alias moves in a second)."""
    name, version = item.id.rsplit("/", 1)
    try:
        pointers = aliases.pointers(tracker, name)
    except RegistryError:  # the registered model itself is gone: nothing to delete
        return False
    held = [f"@{a}" for a, v in pointers.items() if v == version]
    if item.id in _leased(project, time.time(), cfg.retention.lease_ttl_seconds):
        held.append("a live server's lease")
    if held:
        skipped.append(f"{item.id}: now held by {', '.join(held)}")
        return False
    try:
        tracker.client.delete_model_version(name, version)
    except tracker.error as exc:
        if tracker.missing(exc):
            return False
        raise
    return True


def _purge(tracker: Tracker, plan_: Plan, cfg: PlatformConfig) -> int:
    """Hard-delete what has been deleted longer than the grace period (all of it at a grace of
    0), as the store says now, and the orphaned artifact directories. A store with no hard
    delete (HTTP) keeps the rows: a purge there removes the artifacts, and one already done (0
    bytes left) is no step."""
    runs, models = storage.due(
        tracker,
        cfg.retention.grace_days * DAY,
        [i.id for i in plan_.of(Kind.RUN, Action.PURGE)],
        [i.id for i in plan_.of(Kind.LOGGED_MODEL, Action.PURGE)],
    )
    rows = storage.purgeable(tracker)
    steps: list[tuple[Callable[[Tracker, str], None], str]] = [
        *(
            (storage.purge_logged_model, i.id)
            for i in plan_.of(Kind.LOGGED_MODEL, Action.PURGE)
            if i.id in models and (rows or i.bytes)
        ),
        *(
            (storage.purge_run, i.id)
            for i in plan_.of(Kind.RUN, Action.PURGE)
            if i.id in runs and (rows or i.bytes)
        ),
        *((storage.remove_artifacts, i.id) for i in plan_.of(Kind.ORPHAN, Action.PURGE)),
    ]
    for purge, key in steps:
        _pause()
        purge(tracker, key)
    return len(steps)


def log_storage(planned: Planned) -> str:
    """Storage as a cost: the bytes each group holds now, what `--apply` frees, and what the
    storage held costs a month (`budget.price_per_gb_month`), as a run in MLflow."""
    plan_ = planned.plan
    with planned.tracker.side_run(STORAGE_EXPERIMENT, "storage") as run_id:
        figures = {f"storage.bytes.{t.kind}": float(t.bytes) for t in plan_.totals}
        figures["storage.bytes.total"] = float(plan_.bytes)
        figures["storage.bytes.frees_now"] = float(plan_.frees_now)
        figures["storage.usd_month"] = plan_.usd_month(plan_.bytes)
        for key, value in figures.items():
            planned.tracker.client.log_metric(run_id, key, value)
    return run_id
