"""Gates at registration: judge the new model (floors, segments, champion, lift), tag and log the
verdicts, and move `champion` only when every gate passes.

Judging only reads the registry, and happens before the version is registered, so a failure there
leaves the registry untouched.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core import model_ref
from mlplat.core.bundle import Bundle, load_bundle
from mlplat.core.errors import RegistryError
from mlplat.core.io import read_json, write_json, write_text
from mlplat.core.labels import encode_target, normalized
from mlplat.core.probe import ProbeError, probe
from mlplat.core.vocabulary import GateStatus
from mlplat.stages.evaluate import gates, report
from mlplat.stages.evaluate.verdicts import Decision, Verdict
from mlplat.tracking import aliases, runs

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from rich.console import Console

    from mlplat.core.config import PlatformConfig
    from mlplat.core.stage import ArtifactPaths
    from mlplat.tracking.tracker import Tracker

GATES_FILE = "gates.json"  # beside the run report: written after the stages, not a DVC out


def evaluation(paths: ArtifactPaths) -> dict[str, Any]:
    return {**read_json(paths["metrics"]), **read_json(paths["segments"])}


def _scores(paths: ArtifactPaths) -> np.ndarray:
    import pandas as pd

    frame = pd.read_parquet(paths["predictions"])
    columns = [c for c in frame.columns if c.startswith("y_score")]
    values = frame[columns].to_numpy(dtype="float64")
    return values[:, 0] if columns == ["y_score"] else values


def champion_version(tracker: Tracker, name: str) -> str | None:
    """The version `champion` points at; None if the model or the alias does not exist yet."""
    try:
        return aliases.current(tracker, name)
    except RegistryError:  # not registered yet
        return None


@dataclass(frozen=True)
class Champion:
    """The version `champion` points at (None: no champion yet) and its bundle, loaded (None
    too when no gate compares against it)."""

    version: str | None
    bundle: Bundle | None


def champion_of(cfg: PlatformConfig, tracker: Tracker, name: str) -> Champion:
    """The champion to judge against. It needs the registry only, so `mlplat run` loads it while
    the stages run: importing LightGBM into this process was a second of the registration."""
    version = champion_version(tracker, name)
    if not cfg.gates.champion_metric or version is None:
        return Champion(version, None)
    with tempfile.TemporaryDirectory(prefix="mlplat-champion-") as tmp:
        directory, _ = model_ref.download(tracker, name, version, Path(tmp))
        try:
            probe(directory)  # LightGBM can abort the process that parses a malformed model
        except ProbeError as exc:
            raise RegistryError(
                f"champion '{name}' v{version} cannot be loaded to compare with: {exc}; set "
                f"gates.champion_metric=null for this run, or promote a sound version by hand",
                key="gates.champion_metric",
            ) from exc
        return Champion(version, load_bundle(directory))


def champion_scores(
    name: str, champion: Champion, spec: dict[str, Any], holdout: pd.DataFrame
) -> np.ndarray | None:
    """The champion's predictions on this run's holdout rows (None: nothing to compare with)."""
    if champion.bundle is None:
        return None
    theirs = champion.bundle.feature_spec.get("target")
    if theirs is None or normalized(theirs) != normalized(spec["target"]):
        raise RegistryError(
            f"champion '{name}' v{champion.version} predicts a different target or classes; set "
            f"gates.champion_metric=null for this run, or promote by hand "
            f"(`mlplat promote {name} VERSION --reason ...`)",
            key="gates.champion_metric",
        )
    return champion.bundle.predict(holdout)


def judge(
    cfg: PlatformConfig,
    tracker: Tracker,
    paths: ArtifactPaths,
    name: str,
    champion: Champion | None = None,
) -> Decision:
    """Every gate's verdict for the model just evaluated (reads the registry, changes nothing);
    `champion`: `champion_of`, if the caller loaded it already."""
    import pandas as pd

    gates.check_metrics(cfg)
    spec = read_json(paths["feature_spec"])
    holdout = pd.read_parquet(paths["test_rows"])
    y = encode_target(spec["target"], holdout[cfg.data.target])
    champion = champion or champion_of(cfg, tracker, name)
    old = champion_scores(name, champion, spec, holdout)
    return gates.decide(cfg, evaluation(paths), holdout, y, _scores(paths), old, champion.version)


def version_tags(verdict: Decision) -> dict[str, str]:
    """Model-version tags: the overall verdict and one tag per judged gate."""
    tags = {
        "mlplat.gates": "passed" if verdict.passed else "failed",
        "mlplat.gates.failed": "; ".join(verdict.failed) or "none",
    }
    for v in verdict.verdicts:
        if v.status != GateStatus.SKIP:
            tags[f"mlplat.gate.{v.gate}.{v.scope}.{v.metric}"] = f"{v.status}: {v.detail}"
    return tags


def _small(verdict: Verdict) -> bool:
    return verdict.status == GateStatus.SKIP and verdict.detail.startswith("support")


def print_verdicts(verdict: Decision, console: Console) -> None:
    """One row per judged gate; segments skipped for lack of support are counted, not listed."""
    from mlplat.core.tables import Cell, Column, Table, print_table

    style = {"pass": "green", "fail": "bold red", "warn": "yellow", "skip": "dim"}
    rows: list[tuple[Cell, ...]] = [
        (v.gate, v.scope, v.metric, (v.status, style[v.status]), v.detail)
        for v in verdict.verdicts
        if not _small(v)
    ]
    skipped: dict[str, set[str]] = {}
    for v in filter(_small, verdict.verdicts):
        skipped.setdefault(v.gate, set()).add(v.scope)
    for gate, scopes in skipped.items():
        rows.append(
            (
                gate,
                f"{len(scopes)} segments",
                "",
                ("skip", "dim"),
                "support below gates.segment_min_support",
            )
        )
    columns = (
        Column("gate"),
        Column("scope"),
        Column("metric"),
        Column("verdict"),
        Column("detail", prose=True),
    )
    print_table(console, Table("gates", columns, rows))


def log_evaluation(paths: ArtifactPaths) -> None:
    """Per-segment metrics as `segment.<segment>.<metric>`, one segment table, plots and report."""
    import pandas as pd

    rows = read_json(paths["segments"])["segments"]
    # one batch (MLflow splits it into requests within its limit): a call per segment was a
    # second of a run with a few dozen segments
    per_segment = {
        f"segment.{row['segment']}.{name}": value
        for row in rows
        if row.get("supported")
        for name, value in {**row["metrics"], "support": row["support"]}.items()
    }
    runs.log_metrics(per_segment)
    table = pd.DataFrame(
        [
            {
                "segment": r["segment"],
                "slice": r["slice"],
                "support": r["support"],
                **{m: v for m, v in r.get("metrics", {}).items()},
                **{f"{m}_ci_low": c[0] for m, c in r.get("ci", {}).items()},
                **{f"{m}_ci_high": c[1] for m, c in r.get("ci", {}).items()},
            }
            for r in rows
        ]
    )
    if not table.empty:
        runs.log_table(table, "evaluate/segments_table.json")
    runs.log_artifact(paths["segments"], "evaluate")
    runs.log_artifacts(paths["plots"], "evaluate/plots")
    runs.log_artifact(paths["report"], "evaluate")


def finish_report(cfg: PlatformConfig, paths: ArtifactPaths, verdict: Decision) -> None:
    """The evaluate report plus verdicts and the champion comparison, as `run_report`.

    evaluate/report.html is the evaluate stage's DVC output, so it is left as the stage wrote it;
    its plots are reused, and only the segment plot is drawn again when a gate failed a segment.
    """
    found = evaluation(paths)
    pngs = {p.stem: p.read_bytes() for p in paths["plots"].glob("*.png")}
    failed = report.failed_segments(verdict)
    if failed:
        redrawn = report.segment_image(found, failed)
        if redrawn is not None:
            pngs["segments"] = redrawn
    write_text(paths["run_report"], report.render(cfg.experiment_name, found, pngs, verdict))
    runs.log_artifact(paths["run_report"])


def record(cfg: PlatformConfig, paths: ArtifactPaths, verdict: Decision, console: Console) -> None:
    """Print the verdicts and keep them: gates.json, the run's tags and metric, the run report."""
    print_verdicts(verdict, console)
    write_json(paths.root / GATES_FILE, verdict.to_json())
    runs.log_artifact(paths.root / GATES_FILE, "evaluate")
    runs.set_tags({"mlplat.gates": "passed" if verdict.passed else "failed"})
    runs.log_metrics({"gates.passed": 1.0 if verdict.passed else 0.0})
    finish_report(cfg, paths, verdict)


def conclude(
    cfg: PlatformConfig,
    tracker: Tracker,
    paths: ArtifactPaths,
    name: str,
    version: str,
    verdict: Decision,
    console: Console,
) -> bool:
    """Record the verdicts; move `champion` when every gate passed. Returns promoted."""
    record(cfg, paths, verdict, console)
    if not verdict.passed:
        stays = (
            f"@champion stays v{verdict.champion_version}"
            if verdict.champion_version
            else ("no champion yet")
        )
        console.print(f"  [bold red]✗[/] not promoted ({stays}): {'; '.join(verdict.failed)}")
        return False
    reason = "every gate passed" + (
        f" (vs champion v{verdict.champion_version})"
        if verdict.champion_version
        else " (first champion)"
    )
    aliases.promote(tracker, name, version, reason, action="gate")
    console.print(f"  [green]✓[/] champion   {name} v{version}: {reason}")
    return True
