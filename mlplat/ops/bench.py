"""`mlplat bench`: load a running server, optionally move an alias under that load (--swap), log
the figures on the served version's run and judge them against the project's SLO.

The alias moves through `aliases.move`, like every promotion, so a bench swap is in the alias
history too. Returns data; the CLI prints it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlplat.core.errors import ConfigError, RegistryError
from mlplat.core.model_ref import ModelRef

SWAP_ACTION = "bench-swap"


@dataclass(frozen=True)
class BenchOptions:
    url: str
    payload: Path
    concurrency: int
    duration: float
    requests: int  # stop after this many
    model: str | None = None  # what the server serves, to log the figures on its run
    swap_to: str | None = None  # move the model's alias to this version under load
    slo: bool = False  # judge the figures against conf/serving's SLO
    rate: float | None = None  # open loop: requests per second on a schedule


@dataclass(frozen=True)
class BenchOutcome:
    summary: dict[str, Any]
    run_id: str | None = None  # the run the figures were logged on
    breaches: list[str] = field(default_factory=list)

    def ok(self, slo: bool) -> bool:
        return not self.breaches if slo else self.summary["errors"] == 0


def _alias(model: str) -> tuple[str, str]:
    ref = ModelRef.parse(model)
    if not ref.alias:
        raise ConfigError(f"'{model}' is not models:/NAME@ALIAS", key="model")
    return ref.name, ref.alias


def alias_mover(model: str, tracking_uri: str, to_version: str) -> Callable[[], None]:
    """A callable that points the alias at `to_version` (recorded in the alias history); checks
    both exist before the load starts."""
    from mlplat.tracking import aliases
    from mlplat.tracking.tracker import Tracker

    name, alias = _alias(model)
    tracker = Tracker.polled(tracking_uri)
    try:
        tracker.client.get_model_version(name, to_version)
        tracker.client.get_model_version_by_alias(name, alias)
    except Exception as exc:
        raise RegistryError(
            f"cannot swap {model} to version {to_version}: {exc}", key="swap"
        ) from exc
    reason = f"mlplat bench --swap {to_version}: a swap under load"

    def move() -> None:
        aliases.move(tracker, name, alias, to_version, SWAP_ACTION, reason)

    return move


def log_results(
    model: str, tracking_uri: str, summary: dict[str, Any], version: str | None = None
) -> str:
    """Log `bench.*` metrics on the run that made the served model version; returns the run id."""
    from mlplat.tracking.tracker import Tracker

    ref = ModelRef.parse(model)
    client = Tracker.polled(tracking_uri).client
    mv = ref.lookup(client) if version is None else client.get_model_version(ref.name, version)
    if mv.run_id is None:  # registered by hand from files: no run to hold the figures
        raise RegistryError(f"{ref.name} v{mv.version} has no run to log the bench on", key="model")
    for key, value in summary.items():
        if isinstance(value, int | float) and value == value:  # skip NaN
            client.log_metric(mv.run_id, f"bench.{key}", float(value))
    return str(mv.run_id)


def bench(project: Path, options: BenchOptions) -> BenchOutcome:
    """Run the load (and the swap), log it for a registry model, judge it against the SLO."""
    from mlplat.pipeline.compose import project_config
    from mlplat.serving.bench import run_bench, slo_breaches

    serving, tracking = project_config(project, [])
    model, swap_to = options.model, options.swap_to
    if swap_to and not (model and tracking):
        raise ConfigError(
            "--swap needs --model models:/NAME@ALIAS and a tracking store", key="swap"
        )
    swap = alias_mover(model, tracking, swap_to) if swap_to and model and tracking else None
    if not options.payload.is_file():
        raise ConfigError(f"payload file '{options.payload}' does not exist", key="payload")
    result = run_bench(
        options.url,
        options.payload.read_bytes(),
        concurrency=options.concurrency,
        duration=options.duration,
        content_type="text/csv" if options.payload.suffix == ".csv" else "application/json",
        max_requests=options.requests,
        swap=swap,
        rate=options.rate,
    )
    summary = result.summary()
    run_id = None
    if model and model.startswith("models:/") and tracking:
        run_id = log_results(model, tracking, summary, version=swap_to)
    breaches = slo_breaches(summary, serving.slo.p99_ms, serving.slo.min_qps) if options.slo else []
    return BenchOutcome(summary, run_id, breaches)
