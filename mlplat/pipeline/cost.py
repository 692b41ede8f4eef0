"""The cost side of a run: profile every stage, enforce run budgets, log and write cost.json."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core import budget as budgets
from mlplat.core import cost
from mlplat.core.errors import BudgetExceededError
from mlplat.core.io import read_json, write_json
from mlplat.core.stage import stage_cost
from mlplat.core.vocabulary import BudgetPolicy

if TYPE_CHECKING:
    from rich.console import Console

    from mlplat.core.config.ops import BudgetConfig
    from mlplat.core.stage import ArtifactPaths


class RunCost:
    """Per-stage usage and the budgets breached so far (budget name -> policy)."""

    def __init__(self, budget: BudgetConfig, console: Console | None = None) -> None:
        self.budget = budget
        self.console = console
        self.stages: dict[str, cost.Usage] = {}
        self.exceeded: dict[str, str] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Profile the block as stage `name`; then apply the run budgets to the running totals."""
        sampler = cost.Sampler()
        try:
            with sampler:
                yield
        finally:  # a stage that fails still cost something: record it before the error goes up
            sampler.usage.money = cost.money(sampler.usage, self.budget)
            self.stages[name] = sampler.usage
        self.enforce(name)

    def enforce(self, stage: str) -> None:
        for breach in budgets.breaches(self.budget, stage, self.totals()):
            if breach.budget in self.exceeded:
                continue
            self.exceeded[breach.budget] = breach.policy
            if breach.policy == BudgetPolicy.FAIL:
                raise breach.error()
            if self.console is not None:
                self.console.print(f"  [yellow]! {breach.message()} (policy warn)[/]")

    def totals(self) -> cost.Usage:
        return cost.total(self.stages)

    def report(self) -> dict[str, Any]:
        body = cost.report(self.stages, self.budget)
        body["budget_exceeded"] = dict(self.exceeded)
        return body

    def note_failure(self, exc: BaseException) -> None:
        """A budget that failed inside a stage (max_train_seconds) is recorded like the others."""
        if isinstance(exc, BudgetExceededError) and exc.key and exc.key.startswith("budget."):
            self.exceeded.setdefault(exc.key.split(".")[1], BudgetPolicy.FAIL)

    def note_train(self, train_info: Path) -> None:
        """stop_early/warn on training time is decided by the train stage; it says so here."""
        record = read_json(train_info).get("budget") if train_info.is_file() else None
        if record and "train" in self.stages:
            self.exceeded.setdefault(record["exceeded"], record["policy"])


def log(run_cost: RunCost, target: Path) -> dict[str, Any]:
    """Write cost.json (a DVC metrics file) and log it with `cost.*` metrics and budget tags."""
    from mlplat.tracking import runs as tracking

    if not run_cost.stages:  # nothing ran here (the DVC `register` stage): keep the file as is
        return {}
    body = run_cost.report()
    write_json(target, body)
    tracking.log_metrics(cost.flat_metrics(body))
    tracking.log_artifact(target)
    if run_cost.exceeded:
        tracking.set_tags({"budget.exceeded": ",".join(sorted(run_cost.exceeded))})
    return body


def log_quietly(run_cost: RunCost, paths: ArtifactPaths) -> None:
    """On a failed run, keep what the stages that ran cost; never hide the original error."""
    try:
        log(run_cost, paths["cost"])
    except Exception:
        return


def stage_costs(paths: ArtifactPaths, stages: Iterable[str]) -> dict[str, cost.Usage]:
    """The cost profiles the pipeline's stages wrote (`mlplat stage`), by stage."""
    found = {name: paths[stage_cost(name)] for name in stages}
    return {
        name: cost.Usage.from_dict(read_json(path))
        for name, path in found.items()
        if path.is_file()
    }
