"""The experiment's verdict: guardrails first, then the mSPRT overall and per declared segment.

Per-row losses come from the joined rows (`mlplat feedback`): log loss or Brier score of a
binary model's P(positive) against a 0/1 label; log loss, Brier score or 0/1 loss (1 -
accuracy) of a multiclass model's class probabilities against the class named by the label;
squared or absolute error of a regression.
Guardrails come from the online request log and need no labels: the challenger's p99 latency,
its share of 5xx answers and the shift of its mean prediction from the champion's. A breach
rolls traffic back at once; otherwise the challenger is promoted when it is significantly
better overall and significantly worse in no checked segment, kept when it is significantly
worse or the maximum sample or duration passed, and the experiment continues otherwise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from mlplat.core.config.online import row_loss
from mlplat.core.vocabulary import Arm, Verdict
from mlplat.online.msprt import Sequential, msprt
from mlplat.serving.online.guard import Guardrail, breach, gap, judged
from mlplat.serving.online.settings import limits_of
from mlplat.serving.online.state import EVIDENCE_TAG, RUN_TAG

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from mlplat.core.config import PlatformConfig
    from mlplat.serving.online.state import Layout
    from mlplat.tracking.tracker import Tracker

EPS = 1e-15
EXAMPLES = 3  # unusable labels shown by value: enough to find them among the labels sent


def losses(metric: str, label: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    if metric == "log_loss":
        p = np.clip(prediction, EPS, 1 - EPS)
        return -(label * np.log(p) + (1 - label) * np.log(1 - p))
    if metric == "brier":
        return (prediction - label) ** 2
    if metric == "squared_error":
        return (prediction - label) ** 2
    return np.abs(prediction - label)


def class_name(label: object) -> str:
    """A label as the class it names: `2` and `2.0` both name class "2"."""
    if isinstance(label, float) and label.is_integer():
        return str(int(label))
    return str(label)


def class_losses(metric: str, frame: pd.DataFrame) -> np.ndarray:
    """Per-row losses of a multiclass model: each row's probabilities (in its logged `classes`
    order, else class index order) against its label; NaN for a label naming no class."""
    out = np.full(len(frame), np.nan)
    rows = zip(frame["prediction"], frame["classes"], frame["label"], strict=True)
    for i, (probabilities, classes, label) in enumerate(rows):
        p = np.asarray(probabilities, dtype=float)
        names = [str(c) for c in (range(len(p)) if classes is None else classes)]
        if class_name(label) not in names:
            continue
        k = names.index(class_name(label))
        if metric == "log_loss":
            out[i] = -np.log(np.clip(p[k], EPS, 1.0))
        elif metric == "brier":
            out[i] = float(np.sum((p - np.eye(len(p))[k]) ** 2))
        else:  # zero_one_loss: a wrong top class
            out[i] = float(np.argmax(p) != k)
    return out


@dataclass(frozen=True)
class SegmentTest:
    segment: str
    test: Sequential


@dataclass(frozen=True)
class ArmSummary:
    """One arm as the log and the labels show it: what the guardrails judge, for both arms."""

    arm: str
    version: str | None
    requests: int
    errors: int  # 5xx answers
    error_rate: float | None
    p50_latency_ms: float | None
    p99_latency_ms: float | None
    labelled: int  # labelled rows
    # joined rows whose label gives no loss (not a number; a class the model does not know),
    # left out of `labelled` and the test, and a few of those labels as sent, to find them by
    unusable_labels: int
    unusable_examples: tuple[str, ...]
    mean_loss: float | None  # of the test's metric
    offline_loss: float | None = None  # the same loss on the holdout (the version's run)


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str
    metric: str
    mode: str
    overall: Sequential | None
    segments: list[SegmentTest] = field(default_factory=list)
    guardrails: list[Guardrail] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)  # arm -> model version
    arms: list[ArmSummary] = field(default_factory=list)
    # labelled rows per arm by which the test finds the minimum detectable effect with the
    # declared power; None until both arms have labelled rows to estimate the loss variance
    samples_needed: int | None = None

    @property
    def exit_code(self) -> int:
        return {Verdict.PROMOTE: 0, Verdict.CONTINUE: 3}.get(self.verdict, 1)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def requests_frame(layout: Layout) -> pd.DataFrame:
    """Every logged answer and failure of every arm: arm, version, status, latency, mean
    prediction (for the guardrails), and the mode the server ran in."""
    import pandas as pd

    from mlplat.online.feedback import log_records

    rows = []
    for r in log_records(layout):
        scored = r.get("predictions") or []
        # a number per row, or a row of class probabilities: their mean over the rows
        mean = np.mean(np.asarray(scored, dtype=float), axis=0) if scored else np.nan
        row = (r["arm"], r["model_version"], r["status"], r["latency_ms"], mean, r["ts"])
        rows.append((*row, r.get("mode")))
    columns = ["arm", "model_version", "status", "latency_ms", "prediction", "ts", "mode"]
    return pd.DataFrame(rows, columns=columns)


def guardrails(requests: pd.DataFrame, cfg: PlatformConfig) -> list[Guardrail]:
    limits = limits_of(cfg.online)
    mine = requests[requests["arm"] == Arm.CHALLENGER.value]
    if len(mine) < limits.min_requests:
        return []
    answered = mine[mine["status"] == 200]
    champion = requests[(requests["arm"] == Arm.CHAMPION.value) & (requests["status"] == 200)]
    p99 = float(np.percentile(answered["latency_ms"], 99)) if len(answered) else None
    errors = float((mine["status"] >= 500).mean())
    return judged(p99, errors, shift(answered, champion), limits)


def shift(mine: pd.DataFrame, theirs: pd.DataFrame) -> float | None:
    """How far the challenger's mean prediction is from the champion's."""
    if mine.empty or theirs.empty:
        return None
    return gap(*(np.mean(np.stack(f["prediction"].to_list()), axis=0) for f in (mine, theirs)))


def _test(frame: pd.DataFrame, cfg: PlatformConfig) -> Sequential:
    d = cfg.online.decision
    ordered = frame.sort_values("predicted_at", kind="stable")
    arms = (ordered["arm"] == Arm.CHALLENGER.value).to_numpy()
    return msprt(ordered["loss"].to_numpy(), arms, d.alpha, d.min_detectable_effect, d.min_samples)


def segment_tests(frame: pd.DataFrame, cfg: PlatformConfig) -> list[SegmentTest]:
    from mlplat.stages.evaluate.segments import expand

    wanted = cfg.online.decision.segments
    names = list(cfg.segments.slices) if wanted is None else wanted
    return [
        SegmentTest(piece, _test(frame[mask], cfg))
        for name in names
        for piece, _, mask in expand(frame, name, cfg.segments.slices[name])
    ]


def labelled(layout: Layout, cfg: PlatformConfig, metric: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The joined rows with their per-row loss, and apart the joined rows whose label gives
    none (not a number, a class the model does not know): counted, never dropped silently."""
    import pandas as pd

    if not layout.joined.is_file():
        empty = pd.DataFrame(columns=["arm", "prediction", "label", "predicted_at", "loss"])
        return empty, empty
    frame = pd.read_parquet(layout.joined)
    if cfg.model.task == "multiclass":
        loss = class_losses(metric, frame)
    else:
        label = pd.to_numeric(frame["label"], errors="coerce").to_numpy(dtype=float)
        loss = losses(metric, label, frame["prediction"].to_numpy(dtype=float))
    frame = frame.assign(loss=loss)
    usable = np.isfinite(loss)
    return frame[usable], frame[~usable]


def unusable(rows: pd.DataFrame, arm: Arm) -> tuple[int, tuple[str, ...]]:
    """An arm's joined labels that give no loss: how many, and the first few distinct ones."""
    mine = rows.loc[rows["arm"] == arm.value, "label"]
    return len(mine), tuple(dict.fromkeys(map(str, mine)))[:EXAMPLES]


def decide(layout: Layout, cfg: PlatformConfig) -> Decision:
    from mlplat.serving.online.state import read_state

    metric = row_loss(cfg.online, cfg.model.task)
    requests = requests_frame(layout)
    # what the servers ran (`serve --mode` overrides the declaration), else what is declared
    logged = requests["mode"].dropna()
    mode = str(logged.iloc[-1]) if len(logged) else cfg.online.mode
    versions = {
        arm: str(requests.loc[requests["arm"] == arm, "model_version"].iloc[-1])
        for arm in (Arm.CHAMPION.value, Arm.CHALLENGER.value)
        if (requests["arm"] == arm).any()
    }
    rails = guardrails(requests, cfg)
    frame, unusable_rows = labelled(layout, cfg, metric)
    arms = [
        arm_summary(arm, versions.get(arm.value), requests, frame, unusable_rows) for arm in Arm
    ]
    needed = samples_needed(frame, cfg)

    def decided(
        verdict: Verdict,
        why: str,
        overall: Sequential | None = None,
        tests: list[SegmentTest] | None = None,
    ) -> Decision:
        return Decision(
            verdict, why, metric, mode, overall, tests or [], rails, versions, arms, needed
        )

    why = breach(rails)
    if why is not None:
        return decided(Verdict.ROLLBACK, why)
    ended = read_state(layout).stopped
    if ended is not None:  # stopped by a server, or decided before: it does not go on
        return decided(Verdict.KEEP, f"the experiment has ended: {ended}")
    if frame.empty:
        return decided(Verdict.CONTINUE, "no labelled rows yet")
    overall = _test(frame, cfg)
    segments = segment_tests(frame, cfg)
    verdict, reason = _verdict(overall, segments, requests, cfg)
    return decided(verdict, reason, overall, segments)


def arm_summary(
    arm: Arm,
    version: str | None,
    requests: pd.DataFrame,
    frame: pd.DataFrame,
    unusable_rows: pd.DataFrame,
) -> ArmSummary:
    mine = requests[requests["arm"] == arm.value]
    answered = mine.loc[mine["status"] == 200, "latency_ms"]
    losses = frame.loc[frame["arm"] == arm.value, "loss"]
    errors = int((mine["status"] >= 500).sum())
    unusable_count, examples = unusable(unusable_rows, arm)

    def figure(value: float) -> float | None:
        return round(float(value), 6) if np.isfinite(value) else None

    return ArmSummary(
        arm=arm.value,
        version=version,
        requests=len(mine),
        errors=errors,
        error_rate=figure(errors / len(mine)) if len(mine) else None,
        p50_latency_ms=figure(np.percentile(answered, 50)) if len(answered) else None,
        p99_latency_ms=figure(np.percentile(answered, 99)) if len(answered) else None,
        labelled=len(losses),
        unusable_labels=unusable_count,
        unusable_examples=examples,
        mean_loss=figure(losses.mean()) if len(losses) else None,
    )


def samples_needed(frame: pd.DataFrame, cfg: PlatformConfig) -> int | None:
    """The planning figure for `status`: from the loss variance seen so far in each arm."""
    from mlplat.online.msprt import rows_needed

    d = cfg.online.decision
    spread = [frame.loc[frame["arm"] == arm.value, "loss"].var() for arm in Arm]
    if not all(np.isfinite(v) for v in spread):
        return None
    return rows_needed(float(sum(spread)), d.alpha, d.min_detectable_effect, d.power)


def _verdict(
    overall: Sequential, segments: list[SegmentTest], requests: pd.DataFrame, cfg: PlatformConfig
) -> tuple[Verdict, str]:
    import pandas as pd

    d = cfg.online.decision
    worse = [s.segment for s in segments if s.test.rejected and s.test.effect > 0]
    if overall.rejected and overall.effect > 0:
        return Verdict.KEEP, f"the challenger is worse (effect {overall.effect:+.4g})"
    if overall.rejected and worse:
        return Verdict.KEEP, f"better overall but worse in {', '.join(worse)}"
    if overall.rejected:
        return Verdict.PROMOTE, (
            f"the challenger is better: effect {overall.effect:+.4g} in "
            f"[{overall.low:+.4g}, {overall.high:+.4g}], p = {overall.p_value:.3g}"
        )
    if min(overall.n_champion, overall.n_challenger) >= d.max_samples:
        return Verdict.KEEP, f"no winner after {d.max_samples} labelled rows per arm"
    started = pd.to_datetime(requests["ts"], utc=True).min()
    days = (pd.Timestamp(dt.datetime.now(dt.UTC)) - started) / pd.Timedelta(days=1)
    if days >= d.max_days:
        return Verdict.KEEP, f"no winner after {days:.1f} days"
    return Verdict.CONTINUE, f"no significant difference yet (p = {overall.p_value:.3g})"


def act(
    decision: Decision, layout: Layout, cfg: PlatformConfig, tracker: Tracker, name: str
) -> str:
    """Carry a decision out: move `champion` (with the evidence on the version), stop the
    challenger's traffic, or step the canary ramp; returns what was done.

    Whatever changes traffic is also recorded where people look: an MLflow run in
    `mlplat-online` (the test, the guardrails, the decision as JSON) and the alias history
    (a promotion moves `champion`; a stop or a canary step is noted on the challenger's alias
    without moving it), so `mlplat registry history` says when a canary stopped and why.
    """
    from mlplat.core.vocabulary import OnlineMode
    from mlplat.serving.online.state import State, read_state, write_state
    from mlplat.tracking import aliases

    state = read_state(layout)
    challenger = decision.versions.get(Arm.CHALLENGER.value)
    if decision.verdict is Verdict.PROMOTE:
        version = decision.versions[Arm.CHALLENGER.value]
        _evidence(decision, cfg, tracker, name, version)
        event = aliases.promote(tracker, name, version, decision.reason, action="online")
        write_state(layout, State(state.step, f"promoted version {version}"))
        return f"{name}@champion -> v{event.version} (was v{event.previous})"
    if decision.verdict in (Verdict.ROLLBACK, Verdict.KEEP) and state.stopped is not None:
        return f"challenger traffic already stopped: {state.stopped}"  # recorded then
    if decision.verdict in (Verdict.ROLLBACK, Verdict.KEEP):
        return stop(decision, layout, cfg, tracker, name)
    alias = cfg.online.challenger
    ramp = cfg.online.ramp
    canary = decision.mode == OnlineMode.CANARY
    if canary and decision.guardrails and state.step + 1 < len(ramp):
        write_state(layout, State(state.step + 1))
        done = f"canary advanced to {ramp[state.step + 1]:.0%} of requests"
        if challenger is not None:
            aliases.note(tracker, name, alias, challenger, "online-canary", done)
        return done
    return "experiment continues"


def stop(
    decision: Decision, layout: Layout, cfg: PlatformConfig, tracker: Tracker, name: str
) -> str:
    """Stop the challenger's traffic (`state.json`, which servers follow) and record why: the
    evidence on the challenger's version and a note on its alias. A server that stopped it
    itself has written the state already and records the rest here (`online.live`)."""
    from mlplat.serving.online.state import State, read_state, write_state
    from mlplat.tracking import aliases

    write_state(layout, State(read_state(layout).step, decision.reason))
    challenger = decision.versions.get(Arm.CHALLENGER.value)
    if challenger is not None:
        _evidence(decision, cfg, tracker, name, challenger)
        action = f"online-{decision.verdict.value}"
        aliases.note(tracker, name, cfg.online.challenger, challenger, action, decision.reason)
    return f"challenger traffic stopped: {decision.reason}"


def _evidence(
    decision: Decision, cfg: PlatformConfig, tracker: Tracker, name: str, version: str
) -> None:
    """The decision as an MLflow run, and on the challenger's version (the ML Test Score reads
    the version tag: canary, rollback and offline/online evidence per version)."""
    import json

    from mlplat.serving.online.state import ONLINE_EXPERIMENT, experiment_id
    from mlplat.tracking import aliases

    evidence = json.dumps(decision.as_dict(), default=str, sort_keys=True)
    experiment = experiment_id(cfg.online, cfg.experiment_name)
    tags = {
        "mlplat.model_name": name,
        "mlplat.model_version": version,
        "mlplat.online.experiment": experiment,
        "mlplat.online.mode": decision.mode,
        "mlplat.online.verdict": decision.verdict.value,
        "mlplat.online.reason": decision.reason[:5000],
    }
    run_name = f"{experiment}-{decision.verdict.value}-v{version}"
    with tracker.side_run(ONLINE_EXPERIMENT, run_name, tags) as run_id:
        metrics = _metrics(decision)
        for key, value in metrics.items():
            tracker.client.log_metric(run_id, key, value)
        tracker.client.log_dict(run_id, decision.as_dict(), "online/decision.json")
    aliases.tag_version(tracker, name, version, {EVIDENCE_TAG: evidence, RUN_TAG: run_id})


def _metrics(decision: Decision) -> dict[str, float]:
    """The test's figures and the guardrails' values, as MLflow metrics."""
    out = {f"guardrail.{g.name}": g.value for g in decision.guardrails if g.value is not None}
    tests = [("overall", decision.overall)] + [(s.segment, s.test) for s in decision.segments]
    for where, test in tests:
        if test is None:
            continue
        for figure in ("effect", "low", "high", "p_value", "n_champion", "n_challenger"):
            value = float(getattr(test, figure))
            if np.isfinite(value):
                out[f"{where}.{figure}"] = value
    return out


def tell(decision: Decision, cfg: PlatformConfig, project: Path, done: str) -> tuple[str, ...]:
    """A decision carried out (not `continue`), to the targets that want it; what was not
    delivered."""
    from mlplat.core.notify import events
    from mlplat.serving.online.state import experiment_id
    from mlplat.tracking.notices import tell as deliver

    if decision.verdict is Verdict.CONTINUE:
        return ()
    experiment = experiment_id(cfg.online, cfg.experiment_name)
    event = events.online(
        experiment, decision.verdict.value, decision.reason, decision.versions, done
    )
    return deliver(cfg.notify, event, project)
