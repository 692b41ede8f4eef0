"""The retention planner: one policy over MLflow runs, logged models, registry versions, the DVC
cache and orphaned artifacts, as a pure function from what the stores hold to a plan.

Nothing here reads a store or deletes anything: `mlplat.ops.gc` lists the facts, this module
decides, and the same edge applies the plan. Every item of the plan says why it stays or goes
(the rule), so a plan can be read, diffed (golden JSON in the tests) and trusted before `--apply`.

Safety comes first and does not depend on the policy's numbers: an aliased version, a version a
live server follows, a version's logged model and run, a running run, and the DVC objects the
current `dvc.lock` uses always stay.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlplat.core.config.ops import RetentionConfig

DAY = 86_400.0
GB = 1e9  # storage is priced per decimal GB, as providers bill it


class Kind(StrEnum):
    RUN = "run"
    LOGGED_MODEL = "logged_model"
    VERSION = "version"
    DVC_CACHE = "dvc_cache"
    ORPHAN = "orphan"


class Action(StrEnum):
    KEEP = "keep"
    DELETE = "delete"  # soft delete now (a registry version: deleted), purged after the grace
    PURGE = "purge"  # artifacts and rows removed now
    WAIT = "in_grace"  # already deleted, purged once the grace period has passed


FREES_NOW = (Action.PURGE,)
FREES_LATER = (Action.DELETE, Action.WAIT)
ENDED_BADLY = ("FAILED", "KILLED")
ACTIVE = ("RUNNING", "SCHEDULED")


@dataclass(frozen=True)
class RunFact:
    run_id: str
    name: str
    experiment_id: str
    status: str  # MLflow's: FINISHED, FAILED, KILLED, RUNNING, SCHEDULED
    started: float  # seconds since the epoch
    bytes: int
    metric: float | None = None  # the task's primary metric, when the run logged it
    parent_id: str | None = None  # a sweep trial's parent run
    best_trial_id: str | None = None  # on a sweep's parent run: its best trial
    commit: str | None = None  # the project's git commit it ran at: its DVC outputs stay
    deleted: bool = False
    purgeable: bool = False  # deleted longer than the grace period ago


@dataclass(frozen=True)
class ModelFact:
    model_id: str
    run_id: str | None
    bytes: int
    deleted: bool = False
    purgeable: bool = False


@dataclass(frozen=True)
class VersionFact:
    name: str
    version: str
    model_id: str | None  # the logged model it was registered from
    run_id: str | None
    aliases: tuple[str, ...] = ()
    champion_until: float | None = None  # last moment it was @champion (now, if it is)

    @property
    def key(self) -> str:
        return f"{self.name}/{self.version}"


@dataclass(frozen=True)
class CacheFact:
    oid: str  # DVC's md5 (a directory's ends in .dir)
    bytes: int
    used: bool  # by the revisions the policy keeps (the current dvc.lock at least)


@dataclass(frozen=True)
class OrphanFact:
    uri: str  # an artifact directory no run or logged model in the store owns
    bytes: int


@dataclass(frozen=True)
class Facts:
    now: float
    metric: str  # the task's primary metric, and its direction
    lower_is_better: bool
    runs: tuple[RunFact, ...] = ()
    models: tuple[ModelFact, ...] = ()
    versions: tuple[VersionFact, ...] = ()
    cache: tuple[CacheFact, ...] = ()
    orphans: tuple[OrphanFact, ...] = ()
    leased: frozenset[str] = frozenset()  # NAME/VERSION that live servers follow


@dataclass(frozen=True)
class Item:
    kind: Kind
    id: str
    bytes: int
    action: Action
    rule: str  # why it stays or goes


@dataclass(frozen=True)
class GroupTotal:
    kind: Kind
    bytes: int  # held now
    kept: int
    kept_bytes: int
    going: int  # deleted or purged by this plan, or waiting out the grace period
    frees_now: int  # bytes purged by `--apply` now
    frees_later: int  # bytes purged after the grace period


@dataclass(frozen=True)
class Plan:
    items: tuple[Item, ...]
    price_per_gb_month: float
    currency: str
    grace_days: float
    totals: tuple[GroupTotal, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "totals", tuple(_totals(self.items)))

    def of(self, kind: Kind, *actions: Action) -> list[Item]:
        return [i for i in self.items if i.kind == kind and (not actions or i.action in actions)]

    def kept_commits(self, runs: Iterable[RunFact]) -> tuple[str, ...]:
        kept = {i.id for i in self.of(Kind.RUN, Action.KEEP)}
        return tuple(sorted({r.commit for r in runs if r.commit and r.run_id in kept}))

    def usd_month(self, size: int) -> float:
        return size / GB * self.price_per_gb_month

    @property
    def bytes(self) -> int:
        return sum(t.bytes for t in self.totals)

    @property
    def frees_now(self) -> int:
        return sum(t.frees_now for t in self.totals)


def _totals(items: Sequence[Item]) -> Iterable[GroupTotal]:
    for kind in Kind:
        mine = [i for i in items if i.kind == kind]
        kept = [i for i in mine if i.action == Action.KEEP]
        yield GroupTotal(
            kind,
            bytes=sum(i.bytes for i in mine),
            kept=len(kept),
            kept_bytes=sum(i.bytes for i in kept),
            going=len(mine) - len(kept),
            frees_now=sum(i.bytes for i in mine if i.action in FREES_NOW),
            frees_later=sum(i.bytes for i in mine if i.action in FREES_LATER),
        )


def plan(facts: Facts, policy: RetentionConfig, price: float, currency: str = "USD") -> Plan:
    versions = _versions(facts, policy)
    kept_versions = {v.key: v for v in facts.versions if versions[v.key].action == Action.KEEP}
    runs = _runs(facts, policy, kept_versions.values())
    models = _models(facts, policy, kept_versions.values(), runs)
    items = [
        *runs.values(),
        *models,
        *versions.values(),
        *(_cache(c) for c in facts.cache),
        *(
            Item(Kind.ORPHAN, o.uri, o.bytes, Action.PURGE, "no run or logged model owns it")
            for o in facts.orphans
        ),
    ]
    order = list(Kind)
    items.sort(key=lambda i: (order.index(i.kind), i.id))
    return Plan(tuple(items), price, currency, policy.grace_days)


def _versions(facts: Facts, policy: RetentionConfig) -> dict[str, Item]:
    newest: dict[str, list[int]] = defaultdict(list)
    for v in facts.versions:
        newest[v.name].append(int(v.version))
    last = {
        name: sorted(found)[-policy.last_versions :] if policy.last_versions else []
        for name, found in newest.items()
    }
    since = facts.now - policy.champion_within_days * DAY
    out = {}
    for v in facts.versions:
        if v.aliases:
            rule = "alias " + ", ".join(f"@{a}" for a in sorted(v.aliases))
        elif v.key in facts.leased:
            rule = "a live server follows it (lease)"
        elif v.champion_until is not None and v.champion_until >= since:
            rule = f"@champion within {policy.champion_within_days:g} d"
        elif int(v.version) in last[v.name]:
            rule = f"newest {policy.last_versions} versions"
        else:
            out[v.key] = Item(Kind.VERSION, v.key, 0, Action.DELETE, "no keep rule holds")
            continue
        out[v.key] = Item(Kind.VERSION, v.key, 0, Action.KEEP, rule)
    return out


def _best_runs(facts: Facts, policy: RetentionConfig) -> dict[str, str]:
    """Run id -> the keep rule of the best runs per experiment and the best trial per sweep."""
    best: dict[str, str] = {}
    scored: dict[str, list[RunFact]] = defaultdict(list)
    for run in facts.runs:
        if not run.deleted and run.status == "FINISHED" and run.metric is not None:
            scored[run.experiment_id].append(run)
    sign = 1.0 if facts.lower_is_better else -1.0
    for found in scored.values():
        found.sort(key=lambda r: (sign * float(r.metric or 0.0), r.run_id))
        for run in found[: policy.best_runs_per_experiment]:
            best[run.run_id] = f"best {policy.best_runs_per_experiment} by {facts.metric}"
    if policy.best_trial_per_sweep:
        for run in facts.runs:
            if run.best_trial_id:
                best.setdefault(run.best_trial_id, f"best trial of sweep {run.run_id}")
    return best


def _runs(
    facts: Facts, policy: RetentionConfig, kept_versions: Iterable[VersionFact]
) -> dict[str, Item]:
    held = {v.run_id: f"registered as {v.key}" for v in kept_versions if v.run_id}
    best = _best_runs(facts, policy)
    listed = set(policy.keep_runs)
    young = facts.now - policy.runs_younger_than_days * DAY
    out: dict[str, Item] = {}
    for run in facts.runs:
        if run.run_id in held:
            rule = held[run.run_id]
        elif run.deleted:
            out[run.run_id] = _deleted(Kind.RUN, run.run_id, run.bytes, run.purgeable, policy)
            continue
        elif run.status in ACTIVE:
            rule = f"{run.status.lower()}"
        elif run.run_id in listed or run.name in listed:
            rule = "named in retention.keep_runs"
        elif run.run_id in best:
            rule = best[run.run_id]
        elif run.started >= young:
            rule = f"younger than {policy.runs_younger_than_days:g} d"
        else:
            out[run.run_id] = _aged(run, facts.now, policy)
            continue
        out[run.run_id] = Item(Kind.RUN, run.run_id, run.bytes, Action.KEEP, rule)
    _keep_parents(facts.runs, out)
    return out


def _aged(run: RunFact, now: float, policy: RetentionConfig) -> Item:
    """A run no keep rule holds: it goes once the delete rule for its kind has its age."""
    if run.status in ENDED_BADLY:
        days, what = policy.failed_after_days, f"{run.status.lower()} run"
    elif run.parent_id:
        days, what = policy.trials_after_days, "sweep trial (not the best)"
    else:
        days, what = policy.others_after_days, "run no rule keeps"
    age = (now - run.started) / DAY
    if age < days:
        rule = f"{what}, not {days:g} d old yet"
        return Item(Kind.RUN, run.run_id, run.bytes, Action.KEEP, rule)
    action = Action.PURGE if policy.grace_days == 0 else Action.DELETE
    return Item(Kind.RUN, run.run_id, run.bytes, action, f"{what}, {days:g} d old or more")


def _keep_parents(runs: Sequence[RunFact], out: dict[str, Item]) -> None:
    """A sweep's parent run (its comparison of trials) stays while any of its trials does."""
    for run in runs:
        parent = out.get(run.parent_id or "")
        if parent is None or parent.action == Action.KEEP or out[run.run_id].action != Action.KEEP:
            continue
        out[parent.id] = Item(
            Kind.RUN, parent.id, parent.bytes, Action.KEEP, "sweep of a kept trial"
        )


def _deleted(kind: Kind, key: str, size: int, purgeable: bool, policy: RetentionConfig) -> Item:
    if purgeable or policy.grace_days == 0:
        return Item(kind, key, size, Action.PURGE, f"deleted over {policy.grace_days:g} d ago")
    return Item(kind, key, size, Action.WAIT, f"deleted, grace of {policy.grace_days:g} d")


def _models(
    facts: Facts,
    policy: RetentionConfig,
    kept_versions: Iterable[VersionFact],
    runs: dict[str, Item],
) -> list[Item]:
    held = {v.model_id: f"registered as {v.key}" for v in kept_versions if v.model_id}
    out = []
    for model in facts.models:
        run = runs.get(model.run_id or "")
        if model.model_id in held:
            rule = held[model.model_id]
        elif run is not None and run.action == Action.KEEP:
            rule = "its run is kept"
        elif model.deleted:
            out.append(
                _deleted(Kind.LOGGED_MODEL, model.model_id, model.bytes, model.purgeable, policy)
            )
            continue
        elif run is None:
            rule = "its run is not in the store"  # another store's run: not ours to judge
        else:
            action = Action.PURGE if policy.grace_days == 0 else Action.DELETE
            out.append(Item(Kind.LOGGED_MODEL, model.model_id, model.bytes, action, "its run goes"))
            continue
        out.append(Item(Kind.LOGGED_MODEL, model.model_id, model.bytes, Action.KEEP, rule))
    return out


def _cache(obj: CacheFact) -> Item:
    if obj.used:
        return Item(Kind.DVC_CACHE, obj.oid, obj.bytes, Action.KEEP, "used by the kept revisions")
    return Item(Kind.DVC_CACHE, obj.oid, obj.bytes, Action.PURGE, "no kept revision uses it")


def champion_until(events: Iterable[tuple[float, str]], now: float) -> dict[str, float]:
    """Version -> the last moment it was @champion, from the champion moves (time, version) in
    order: a version stops being champion when the next move happens; the current one, now."""
    until: dict[str, float] = {}
    previous: str | None = None
    for at, version in events:
        if previous is not None and previous != version:
            until[previous] = at
        previous = version
    if previous is not None:
        until[previous] = now
    return until
