"""`mlplat monitor` and `mlplat retrain --if-drift`: resolve the model, gather its bench figures,
assess the current rows, write and log the reports; retrain through the normal run on a breach."""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core import model_ref
from mlplat.core.bundle import load_bundle
from mlplat.core.errors import ConfigError
from mlplat.core.invariants import Reference, Rules
from mlplat.core.io import write_json, write_text
from mlplat.core.model_ref import ModelRef
from mlplat.core.probe import ProbeError, probe
from mlplat.tracking.tracker import Tracker

if TYPE_CHECKING:
    from rich.console import Console

    from mlplat.core.config import PlatformConfig
    from mlplat.pipeline.run import RunResult
    from mlplat.stages.monitor.monitor import Assessment

MONITOR_EXPERIMENT = "mlplat-monitor"
REASON_TAG = "mlplat.retrain_reason"


@dataclass(frozen=True)
class Served:
    bundle_dir: Path
    name: str | None = None
    version: str | None = None
    run_id: str | None = None


def resolve(model: str, tracking: str, cache: Path) -> Served:
    """A bundle directory or models:/NAME@ALIAS|/VERSION, fetched into `cache`."""
    from mlplat.serving.source import RegistrySource, VersionGoneError, make_source

    if not model_ref.is_registry(model):
        source = make_source(model, None)  # checks the directory is a bundle
        return Served(source.fetch(source.resolve()))
    ref = ModelRef.parse(model)
    registry = RegistrySource(model, tracking, cache)
    try:
        resolved = registry.resolve()
    except (Tracker(tracking).error, VersionGoneError) as exc:
        raise ConfigError(f"cannot resolve {model}: {exc}", key="model") from exc
    return Served(registry.fetch(resolved), ref.name, resolved.version, resolved.run_id)


def learned_reference(cfg: PlatformConfig, project: Path, model: str | None) -> Reference | None:
    """The training statistics new data is validated against: those in the bundle of `model`
    (a bundle directory or models:/ URI), else in the bundle this experiment's last run built
    (None before the first run: the learned invariants are then skipped, and the report says so)."""
    from mlplat.core.stage import ArtifactPaths
    from mlplat.tracking.runs import tracking_uri

    if model is None:
        return Reference.of_bundle(ArtifactPaths.for_config(cfg, project)["bundle"])
    with tempfile.TemporaryDirectory(prefix="mlplat-reference-") as tmp:
        found = Reference.of_bundle(
            resolve(model, tracking_uri(cfg, project), Path(tmp)).bundle_dir
        )
    if found is None:
        raise ConfigError(
            f"{model} has no column profile (its bundle predates learned invariants); "
            "retrain it, or validate without --reference",
            key="--reference",
        )
    return Reference(found.columns, model)


def _bench(client: Any, run_id: str | None) -> dict[str, float] | None:
    if not run_id:
        return None
    metrics = client.get_run(run_id).data.metrics
    found = {
        k.removeprefix("bench."): float(v) for k, v in metrics.items() if k.startswith("bench.")
    }
    return found or None


def bench_figures(
    served: Served, tracking: str
) -> tuple[dict[str, float] | None, dict[str, float] | None]:
    """This version's latest `bench.*` metrics, and those of the champion before it."""
    if not served.name:
        return None, None
    from mlplat.tracking import aliases

    tracker = Tracker(tracking)
    client = tracker.client
    moves = [e for e in aliases.history(tracker, served.name) if e.alias == aliases.CHAMPION]
    previous = next((e.previous for e in reversed(moves) if e.version == served.version), None)
    before = None
    if previous:
        before = _bench(client, client.get_model_version(served.name, previous).run_id)
    return _bench(client, served.run_id), before


def assess(
    cfg: PlatformConfig, model: str, current: str, tracking: str, now: dt.datetime | None = None
) -> tuple[Assessment, Served]:
    from mlplat.stages.monitor.current import read_current
    from mlplat.stages.monitor.monitor import assess as run_checks

    with tempfile.TemporaryDirectory(prefix="mlplat-monitor-") as tmp:
        served = resolve(model, tracking, Path(tmp))
        try:
            probe(served.bundle_dir)  # LightGBM can abort the process that parses a bad model
        except ProbeError as exc:
            raise ProbeError(f"{model} cannot be monitored: {exc}", key="model") from exc
        bundle = load_bundle(served.bundle_dir)
        bench = bench_figures(served, tracking)
        rules = Rules.of(cfg.schema, cfg.data)
        assessment = run_checks(
            bundle, read_current(current), cfg.monitoring, cfg.serving.slo, rules, now, bench
        )
    named = replace(assessment.model, uri=model, version=served.version, run_id=served.run_id)
    return replace(assessment, model=named), served


def write_reports(assessment: Assessment, directory: Path) -> tuple[Path, Path]:
    from mlplat.stages.monitor.report import render

    summary, report = directory / "summary.json", directory / "report.html"
    write_json(summary, assessment.summary())
    write_text(report, render(assessment))
    return summary, report


def metric_key(name: str) -> str:
    """An MLflow metric name for a check: raw column names (`petal length (cm)`) may hold
    characters MLflow refuses; those become `_`."""
    return re.sub(r"[^A-Za-z0-9_\-. :/]", "_", name)


def log_reports(assessment: Assessment, files: tuple[Path, Path], tracking: str) -> str:
    """One run per check in the `mlplat-monitor` experiment: metrics, verdict tags, both files."""
    from mlplat.tracking.runs import finite

    tracker = Tracker(tracking)
    tags = {
        "mlplat.monitor.healthy": str(assessment.healthy).lower(),
        "mlplat.monitor.model": str(assessment.model.uri),
    }
    name = f"monitor-{assessment.model.model_name}"
    with tracker.side_run(MONITOR_EXPERIMENT, name, tags) as run_id:
        values = {
            metric_key(f"{c.group}.{c.name}" + (f".{c.feature}" if c.feature else "")): c.value
            for c in assessment.checks
            if c.value is not None
        }
        metrics = {
            "monitor.breaches": len(assessment.breaches),
            "monitor.rows": assessment.rows,
            **{f"monitor.{k}": v for k, v in values.items() if v is not None},
        }
        for key, value in finite(metrics).items():
            tracker.client.log_metric(run_id, key, value)
        for path in files:
            tracker.client.log_artifact(run_id, str(path), "monitor")
    return run_id


def retrain_reason(assessment: Assessment, limit: int = 10) -> str:
    lines = [c.line() for c in assessment.breaches]
    more = f"; +{len(lines) - limit} more" if len(lines) > limit else ""
    return "; ".join(lines[:limit]) + more


def champion_uri(cfg: PlatformConfig, tracking: str) -> str | None:
    """models:/NAME@champion when the registry has one, else None."""
    from mlplat.core import provenance

    ref = ModelRef(provenance.model_name(cfg), alias="champion")
    return str(ref) if Tracker(tracking).version(ref) is not None else None


def retrain(cfg: PlatformConfig, project: Path, reason: str, console: Console) -> RunResult:
    """The experiment's normal run (validation, gates, registry rules), tagged with why."""
    from mlplat.pipeline.run import run_experiment

    return run_experiment(cfg, project, console, tags={REASON_TAG: reason[:5000]})


def tell_breach(
    cfg: PlatformConfig, project: Path, assessment: Assessment, run_id: str
) -> tuple[str, ...]:
    """The breach, to the targets that want drift; what was not delivered."""
    from mlplat.core.notify import events
    from mlplat.tracking.notices import tell

    model = assessment.model
    breaches = [c.line() for c in assessment.breaches]
    name = model.model_name or model.uri or "model"
    version = str(model.version) if model.version else None
    return tell(cfg.notify, events.drift(name, version, breaches, assessment.rows, run_id), project)


def tell_retrain(cfg: PlatformConfig, project: Path, reason: str) -> tuple[str, ...]:
    from mlplat.core.notify import events
    from mlplat.tracking.notices import tell

    at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return tell(cfg.notify, events.retrain(cfg.experiment_name, reason, at), project)
