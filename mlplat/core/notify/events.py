"""The events the use cases raise, built from plain values (pure): a monitor breach, a retrain,
an ML Test Score below the bar, a budget exceeded, an online decision. (Registration, gates and
alias moves are built in `tracking.notices`, beside the registry they read.)"""

from __future__ import annotations

from collections.abc import Sequence

from mlplat.core.notify.event import Event, make
from mlplat.core.vocabulary import NotifyEvent

SHOWN = 10  # lines of a list in a message; the rest are counted


def _lines(items: Sequence[str]) -> str:
    more = f"\n+{len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return "\n".join(items[:SHOWN]) + more


def drift(
    model: str, version: str | None, breaches: Sequence[str], rows: int, run_id: str
) -> Event:
    return make(
        NotifyEvent.DRIFT,
        (model, run_id),
        f"{model}: {len(breaches)} monitor check(s) breached on {rows} rows",
        _lines(breaches),
        facts={"model": model, "version": version or "-", "monitor run": run_id},
        model=model,
        version=version,
    )


def retrain(experiment: str, reason: str, at: str) -> Event:
    return make(
        NotifyEvent.RETRAIN,
        (experiment, at),
        f"retraining {experiment}",
        reason,
        facts={"experiment": experiment},
    )


def score_low(project: str, final: float, minimum: float, band: str, run_id: str) -> Event:
    return make(
        NotifyEvent.SCORE_LOW,
        (project, run_id),
        f"ML Test Score {final:.1f} is below {minimum:g} ({project})",
        f"The project scores {final:.1f} ({band}); the bar is {minimum:g}.",
        facts={"project": project, "score": f"{final:.1f}", "minimum": f"{minimum:g}"},
    )


def budget(experiment: str, run_name: str, exceeded: dict[str, str], detail: str) -> Event:
    named = ", ".join(f"{name} ({policy})" for name, policy in sorted(exceeded.items()))
    return make(
        NotifyEvent.BUDGET,
        (experiment, run_name, named),
        f"{run_name}: budget exceeded: {named}",
        detail or f"policy per budget in brackets: {named}",
        facts={"experiment": experiment, "run": run_name, "budgets": named},
    )


def online(
    experiment: str, verdict: str, reason: str, versions: dict[str, str], done: str | None
) -> Event:
    arms = ", ".join(f"{arm} v{version}" for arm, version in sorted(versions.items()))
    return make(
        NotifyEvent.ONLINE_DECISION,
        (experiment, verdict, arms),  # once per verdict on this pair of versions
        f"online experiment {experiment}: {verdict}",
        f"{reason}\n{done or ''}".strip(),
        facts={"experiment": experiment, "verdict": verdict, "arms": arms or "-"},
        version=versions.get("challenger"),
    )
