"""Declared budgets against measured cost: which limits a run has breached, and what to do.

The runner checks the run's running totals at every stage boundary; the train stage checks
`max_train_seconds` between boosting rounds (a LightGBM callback), the only place where stopping
early can still produce a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlplat.core.errors import BudgetExceededError, ConfigError
from mlplat.core.vocabulary import BudgetPolicy, choices, knows

if TYPE_CHECKING:
    from mlplat.core.config.ops import BudgetConfig, LimitConfig
    from mlplat.core.cost import Usage

# budget -> (Usage figure it limits, unit); max_train_seconds is the train stage's own.
RUN_LIMITS = {
    "max_wall_seconds": ("wall_seconds", "s"),
    "max_peak_memory_mb": ("peak_rss_mb", "MB"),
    "max_money": ("money", ""),
}
LIMITS = (*RUN_LIMITS, "max_train_seconds")


@dataclass(frozen=True)
class Breach:
    budget: str  # "max_peak_memory_mb"
    policy: str
    stage: str
    value: float
    limit: float
    unit: str = ""

    def message(self) -> str:
        return (
            f"budget {self.budget} exceeded in stage '{self.stage}': "
            f"{self.value:.4g}{self.unit} > limit {self.limit:.4g}{self.unit}"
        )

    def error(self) -> BudgetExceededError:
        return BudgetExceededError(self.message(), key=f"budget.{self.budget}.limit")


def limit_of(budget: BudgetConfig, name: str) -> LimitConfig:
    limit: LimitConfig = getattr(budget, name)
    return limit


def check_policies(budget: BudgetConfig) -> None:
    """Refuse an unknown policy, a negative limit, or stop_early where nothing can stop early."""
    for name in LIMITS:
        limit = limit_of(budget, name)
        if not knows(BudgetPolicy, limit.policy):
            raise ConfigError(
                f"unknown budget policy '{limit.policy}'; choose one of {choices(BudgetPolicy)}",
                key=f"budget.{name}.policy",
            )
        if limit.limit is not None and limit.limit < 0:
            raise ConfigError(
                "a budget limit must be >= 0 (or null: no limit)", key=f"budget.{name}.limit"
            )
        if limit.policy == "stop_early" and name != "max_train_seconds":
            raise ConfigError(
                "stop_early applies to max_train_seconds only (boosting stops between rounds); "
                "use fail or warn",
                key=f"budget.{name}.policy",
            )


def breaches(budget: BudgetConfig, stage: str, running: Usage) -> list[Breach]:
    """Run-level limits that the running totals (after `stage`) exceed."""
    found = []
    for name, (figure, unit) in RUN_LIMITS.items():
        limit = limit_of(budget, name)
        value = float(getattr(running, figure))
        if limit.limit is not None and value > limit.limit:
            shown = f" {budget.currency}" if figure == "money" else unit
            found.append(Breach(name, limit.policy, stage, value, limit.limit, shown))
    return found


def sweep_stop_reason(
    budget: BudgetConfig, trials: int, spent: float, elapsed: float
) -> str | None:
    """Why a sweep must launch no further trial, or None while budget.sweep allows more."""
    sweep = budget.sweep
    if sweep.max_trials is not None and trials >= sweep.max_trials:
        return f"budget.sweep.max_trials reached: {trials} trials >= {sweep.max_trials}"
    if sweep.max_total_cost is not None and spent >= sweep.max_total_cost:
        return (
            f"budget.sweep.max_total_cost reached: {spent:.4g} >= {sweep.max_total_cost:.4g} "
            f"{budget.currency}"
        )
    if sweep.max_total_wall is not None and elapsed >= sweep.max_total_wall:
        return f"budget.sweep.max_total_wall reached: {elapsed:.1f}s >= {sweep.max_total_wall:.4g}s"
    return None
