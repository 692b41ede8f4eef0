"""What a server needs to run an experiment, as plain data (it travels in ServeSettings)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core import model_ref
from mlplat.core.errors import ConfigError
from mlplat.core.model_ref import ModelRef
from mlplat.core.vocabulary import OnlineMode, choices, knows
from mlplat.serving.online.guard import Limits

if TYPE_CHECKING:
    from mlplat.core.config.online import OnlineConfig


@dataclass(frozen=True)
class OnlineSettings:
    challenger: str  # models:/NAME@challenger, or a bundle directory
    mode: str  # core.vocabulary.OnlineMode
    split: float  # the challenger's share (shadow: the share mirrored)
    ramp: tuple[float, ...]  # canary shares, stepped by `mlplat online decide`
    experiment: str  # the assignment salt
    key_header: str | None  # sticky assignment by this header (lower case)
    directory: str  # absolute: online.directory/<experiment>
    shadow_queue_size: int = 1000
    lookback_hours: float = 168.0  # POST /feedback looks this far back in the log on disk
    limits: Limits = field(default_factory=Limits)  # a split or canary stops itself past these
    # the declaration a worker process recomposes to record a stop it makes (online.live)
    project: str = ""
    overrides: tuple[str, ...] = ()


def limits_of(online: OnlineConfig) -> Limits:
    g = online.decision.guardrails
    return Limits(g.max_p99_latency_ms, g.max_error_rate, g.max_prediction_shift, g.min_requests)


def online_settings(
    online: OnlineConfig,
    experiment_name: str,
    project: Path,
    model: str,
    flags: dict[str, Any],
    overrides: tuple[str, ...] = (),
) -> OnlineSettings | None:
    """conf/online plus the `serve` flags (challenger, mode, split); None when mode is off.

    Without `--challenger`, a `models:/NAME@ALIAS` champion brings its challenger:
    `models:/NAME@<online.challenger>`.
    """
    mode = flags.get("mode") or online.mode
    if not knows(OnlineMode, mode):
        raise ConfigError(f"unknown mode '{mode}'; choose one of {choices(OnlineMode)}", key="mode")
    challenger = flags.get("challenger")
    if mode == OnlineMode.OFF:
        if challenger:
            raise ConfigError("--challenger needs --mode shadow, split or canary", key="mode")
        return None
    split = online.split if flags.get("split") is None else float(flags["split"])
    if not 0.0 <= split <= 1.0:
        raise ConfigError(f"--split {split} is not a share in [0, 1]", key="split")
    if not challenger:
        if not model_ref.is_registry(model):
            raise ConfigError("a bundle-directory champion needs --challenger", key="challenger")
        ref = ModelRef.parse(model)
        challenger = str(ModelRef(ref.name, alias=online.challenger))
    from mlplat.serving.online.state import experiment_id, layout_of

    return OnlineSettings(
        challenger=challenger,
        mode=str(mode),
        split=split,
        ramp=tuple(online.ramp),
        experiment=experiment_id(online, experiment_name),
        key_header=online.key_header,
        directory=str(layout_of(online, experiment_name, project).root),
        shadow_queue_size=online.shadow_queue_size,
        lookback_hours=online.lookback_hours,
        limits=limits_of(online),
        project=str(project),
        overrides=overrides,
    )
