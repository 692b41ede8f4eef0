"""The rubric: 28 tests in four sections, the scoring rule and the interpretation bands."""

from __future__ import annotations

from dataclasses import dataclass

RUBRIC_VERSION = (
    "ML Test Score v1: Breck, Cai, Nielsen, Salib, Sculley, 'The ML Test Score: A Rubric for "
    "ML Production Readiness and Technical Debt Reduction', IEEE Big Data 2017"
)
MANUAL, AUTOMATED = 0.5, 1.0  # per test: done by hand with documented results / automatically


@dataclass(frozen=True)
class Test:
    id: str  # data_1 ... monitoring_7
    section: str
    title: str


SECTIONS = {
    "data": (
        "Feature expectations are captured in a schema",
        "All features are beneficial",
        "No feature's cost is too much",
        "Features adhere to meta-level requirements",
        "The data pipeline has appropriate privacy controls",
        "New features can be added quickly",
        "All input feature code is tested",
    ),
    "model": (
        "Model specs are reviewed and submitted",
        "Offline and online metrics correlate",
        "All hyperparameters have been tuned",
        "The impact of model staleness is known",
        "A simpler model is not better",
        "Model quality is sufficient on important data slices",
        "The model is tested for considerations of inclusion",
    ),
    "infrastructure": (
        "Training is reproducible",
        "Model specs are unit tested",
        "The ML pipeline is integration tested",
        "Model quality is validated before serving",
        "The model is debuggable",
        "Models are canaried before serving",
        "Serving models can be rolled back",
    ),
    "monitoring": (
        "Dependency changes result in notification",
        "Data invariants hold for inputs",
        "Training and serving are not skewed",
        "Models are not too stale",
        "Models are numerically stable",
        "Computing performance has not regressed",
        "Prediction quality has not regressed",
    ),
}
PREFIX = {"infrastructure": "infra"}  # test ids: data_1, model_1, infra_1, monitoring_1
TESTS = tuple(
    Test(f"{PREFIX.get(section, section)}_{i}", section, title)
    for section, titles in SECTIONS.items()
    for i, title in enumerate(titles, 1)
)

# (upper bound of the final score, reading): the paper's Table V.
BANDS = (
    (0.0, "More of a research project than a productionized system."),
    (
        1.0,
        "Not totally untested, but it is worth considering the possibility of serious holes "
        "in reliability.",
    ),
    (
        2.0,
        "There's been first pass at basic productionization, but additional investment may "
        "be needed.",
    ),
    (
        3.0,
        "Reasonably tested, but it's possible that more of those tests and procedures may be "
        "automated.",
    ),
    (
        5.0,
        "Strong levels of automated testing and monitoring, appropriate for mission-critical "
        "systems.",
    ),
    (float("inf"), "Exceptional levels of automated testing and monitoring."),
)


def band(final: float) -> str:
    return next(text for upper, text in BANDS if final <= upper)


def section_sums(points: dict[str, float]) -> dict[str, float]:
    return {s: sum(points.get(t.id, 0.0) for t in TESTS if t.section == s) for s in SECTIONS}


def final_score(sums: dict[str, float]) -> float:
    """The paper's rule: the weakest section is the score."""
    return min(sums.values())
