"""`conf/online/`: an experiment on live traffic between the champion and a challenger."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlplat.core.config.bounds import bounded


@dataclass
class GuardrailsConfig:
    """Limits the challenger must keep while it takes traffic; None: not guarded."""

    max_p99_latency_ms: float | None = bounded(250.0, gt=0)
    max_error_rate: float | None = bounded(0.01, ge=0, le=1)  # share of its requests (5xx)
    # |mean prediction of the challenger - mean prediction of the champion|
    max_prediction_shift: float | None = bounded(0.1, ge=0)
    min_requests: int = bounded(50, ge=1)  # fewer challenger requests: not judged yet


@dataclass
class DecisionConfig:
    """The sequential test (mSPRT) on the per-row loss difference between the arms."""

    metric: str | None = None  # None: the task's first per-row loss in ROW_LOSSES
    alpha: float = bounded(0.05, gt=0, lt=1)
    # the smallest loss difference worth finding; the test's mixing spread (tau) is set to it
    min_detectable_effect: float = bounded(0.02, gt=0)
    # the chance of finding a true difference of that size by `online status`'s samples needed
    power: float = bounded(0.8, gt=0, lt=1)
    min_samples: int = bounded(100, ge=2)  # labelled rows per arm before the test speaks
    max_samples: int = bounded(100_000, ge=2)  # labelled rows per arm; then keep
    max_days: float = bounded(28.0, gt=0)  # since the first logged request; then keep
    segments: list[str] | None = None  # declared segment names to check; None: all of them
    guardrails: GuardrailsConfig = field(default_factory=GuardrailsConfig)


@dataclass
class OnlineConfig:
    mode: str = "off"  # off | shadow | split | canary (core.vocabulary.OnlineMode)
    experiment: str | None = None  # the experiment id (assignment salt); None: experiment_name
    champion: str = "champion"  # registry aliases of the two arms
    challenger: str = "challenger"
    split: float = bounded(0.1, ge=0, le=1)  # challenger share (shadow: share mirrored)
    ramp: list[float] = field(default_factory=lambda: [0.05, 0.25, 0.5, 1.0])  # canary steps
    key_header: str | None = "x-user-id"  # sticky assignment by this request header
    directory: str = "online"  # under the project: requests, outcomes, joined rows, state
    lookback_hours: float = bounded(168.0, gt=0)  # a label later than this after its prediction
    shadow_queue_size: int = bounded(1000, ge=1)  # mirrored requests waiting; beyond: dropped
    decision: DecisionConfig = field(default_factory=DecisionConfig)


# Per-row losses the test can compare, by task; the first is the default.
ROW_LOSSES: dict[str, tuple[str, ...]] = {
    "binary": ("log_loss", "brier"),
    "multiclass": ("log_loss", "brier", "zero_one_loss"),
    "regression": ("squared_error", "absolute_error"),
}


def row_loss(online: OnlineConfig, task: str) -> str:
    return online.decision.metric or ROW_LOSSES[task][0]


def check(online: OnlineConfig, task: str, segments: list[str]) -> None:
    """What types and bounds cannot say, named by key."""
    from mlplat.core.errors import ConfigError
    from mlplat.core.vocabulary import OnlineMode, choices, knows

    if not knows(OnlineMode, online.mode):
        raise ConfigError(
            f"unknown mode '{online.mode}'; choose one of {choices(OnlineMode)}", key="online.mode"
        )
    if online.champion == online.challenger:
        raise ConfigError(
            f"the two arms follow the same alias '{online.champion}'", key="online.challenger"
        )
    steps = online.ramp
    if not steps or any(not 0 < s <= 1 for s in steps) or steps != sorted(set(steps)):
        raise ConfigError(
            f"online.ramp = {steps} must be increasing shares in (0, 1]", key="online.ramp"
        )
    metric, known = online.decision.metric, ROW_LOSSES.get(task, ())
    if metric is not None and metric not in known:
        raise ConfigError(
            f"'{metric}' is not a per-row loss of a {task} model; choose one of {', '.join(known)}",
            key="online.decision.metric",
        )
    if online.decision.max_samples < online.decision.min_samples:
        raise ConfigError(
            "online.decision.max_samples is below online.decision.min_samples",
            key="online.decision.max_samples",
        )
    unknown = sorted(set(online.decision.segments or ()) - set(segments))
    if unknown:
        raise ConfigError(
            f"online.decision.segments names undeclared segment(s) {unknown}; declared: "
            f"{', '.join(segments) or 'none'}",
            key="online.decision.segments",
        )
