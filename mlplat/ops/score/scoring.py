"""Combine automatic evidence and attestations into the score: per test, per section, final."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.ops.score import rubric
from mlplat.ops.score.attestations import Attestation
from mlplat.ops.score.collectors import COLLECTORS, Found
from mlplat.ops.score.facts import Facts

if TYPE_CHECKING:
    from mlplat.core.config import PlatformConfig


@dataclass(frozen=True)
class ScoredTest:
    id: str
    section: str
    title: str
    points: float
    source: str  # evidence | attested | expired attestation | none
    evidence: str


@dataclass(frozen=True)
class ScoreCard:
    """The ML Test Score of a project: every test, the section sums and the final (weakest
    section); `tracking_uri`: the store its evidence came from, once gathered from one."""

    rubric: str
    date: str
    tests: tuple[ScoredTest, ...]
    sections: dict[str, float]
    final: float
    band: str
    tracking_uri: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The shape of the score file and of `mlplat score --json`."""
        shape = asdict(self) | {"tests": [asdict(t) for t in self.tests]}
        if self.tracking_uri is None:
            del shape["tracking_uri"]
        return shape


def _attested(
    found: Found, attestation: Attestation | None, today: dt.date
) -> tuple[float, str, str]:
    if attestation is None:
        return (
            found.points,
            "evidence" if found.points else "none",
            found.evidence or "no automatic evidence; attest it in conf/score/attestations.yaml",
        )
    if not attestation.valid(today):
        note = f"attestation by {attestation.by} expired {attestation.expires()}"
        return (
            found.points,
            "expired attestation" if not found.points else "evidence",
            "; ".join(x for x in (found.evidence, note) if x),
        )
    manual = f"attested by {attestation.by} on {attestation.date}: {attestation.evidence}"
    if found.points >= rubric.MANUAL:
        return found.points, "evidence", f"{found.evidence}; {manual}"
    return rubric.MANUAL, "attested", manual


def score_test(test: rubric.Test, facts: Facts, attestations: dict[str, Attestation]) -> ScoredTest:
    collector = COLLECTORS.get(test.id)
    found = collector(facts) if collector else Found(0.0, "")
    points, source, evidence = _attested(found, attestations.get(test.id), facts.today)
    return ScoredTest(test.id, test.section, test.title, points, source, evidence)


def score(facts: Facts, attestations: dict[str, Attestation]) -> ScoreCard:
    tests = [score_test(t, facts, attestations) for t in rubric.TESTS]
    sums = rubric.section_sums({t.id: t.points for t in tests})
    final = rubric.final_score(sums)
    return ScoreCard(
        rubric.RUBRIC_VERSION,
        facts.today.isoformat(),
        tuple(tests),
        sums,
        final,
        rubric.band(final),
    )


def score_project(cfg: PlatformConfig, project: Path, today: dt.date | None = None) -> ScoreCard:
    from mlplat.ops.score import attestations, facts
    from mlplat.tracking.runs import tracking_uri

    uri = tracking_uri(cfg, project)
    gathered = facts.gather(cfg, project, uri, today or dt.date.today())
    return replace(score(gathered, attestations.load(project)), tracking_uri=uri)


def log_score(result: ScoreCard, file: Path) -> str:
    """One run in the `mlplat-score` experiment: section sums, final, every test, the JSON."""
    from mlplat.tracking.runs import finite
    from mlplat.tracking.tracker import Tracker

    if result.tracking_uri is None:  # scored from facts alone: there is no store to log to
        raise ValueError("a score card is logged to the store its evidence came from")
    tracker = Tracker(result.tracking_uri)
    tags = {"mlplat.score.rubric": result.rubric[:250]}
    with tracker.side_run("mlplat-score", f"score-{result.date}", tags) as run_id:
        metrics = {
            "score.final": result.final,
            **{f"score.{k}": v for k, v in result.sections.items()},
            **{f"score.test.{t.id}": t.points for t in result.tests},
        }
        for key, value in finite(metrics).items():
            tracker.client.log_metric(run_id, key, value)
        tracker.client.log_artifact(run_id, str(file), "score")
    return run_id


def tell_low_score(
    cfg: PlatformConfig, project: Path, result: ScoreCard, minimum: float, run_id: str
) -> tuple[str, ...]:
    """A score below `--min-score`, to the targets that want it; what was not delivered."""
    from mlplat.core.notify import events
    from mlplat.tracking.notices import tell

    event = events.score_low(project.name, result.final, minimum, result.band, run_id)
    return tell(cfg.notify, event, project)
