"""The ML Test Score rubric, scoring rule, attestations and collectors on hand-made facts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from mlplat.core.config import PlatformConfig
from mlplat.core.errors import ConfigError
from mlplat.ops.score import attestations, rubric
from mlplat.ops.score.collectors import COLLECTORS, data_3, infra_1, monitoring_1
from mlplat.ops.score.facts import Facts, Run
from mlplat.ops.score.scoring import score

TODAY = dt.date(2026, 11, 27)


def _facts(**kw: object) -> Facts:
    return Facts(project=Path("."), cfg=PlatformConfig(), model_name="m", today=TODAY, **kw)


def test_the_rubric_has_28_tests_in_four_sections_of_seven() -> None:
    assert len(rubric.TESTS) == 28
    assert {s: sum(t.section == s for t in rubric.TESTS) for s in rubric.SECTIONS} == {
        "data": 7,
        "model": 7,
        "infrastructure": 7,
        "monitoring": 7,
    }
    assert len({t.id for t in rubric.TESTS}) == 28
    assert set(COLLECTORS) <= {t.id for t in rubric.TESTS}


@pytest.mark.parametrize(
    ("final", "starts"),
    [
        pytest.param(0.0, "More of a research project", id="zero"),
        pytest.param(0.5, "Not totally untested", id="half"),
        pytest.param(1.5, "There's been first pass", id="one-and-a-half"),
        pytest.param(3.0, "Reasonably tested", id="three"),
        pytest.param(4.5, "Strong levels", id="four-and-a-half"),
        pytest.param(6.0, "Exceptional", id="six"),
    ],
)
def test_bands_follow_the_paper(final: float, starts: str) -> None:
    assert rubric.band(final).startswith(starts)


def test_the_final_score_is_the_weakest_section() -> None:
    result = score(_facts(), {})
    assert result.final == min(result.sections.values()) == 0.0
    assert "IEEE Big Data 2017" in result.rubric
    assert all(t.points == 0 and t.evidence for t in result.tests)
    assert "tracking_uri" not in result.to_json()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / attestations.ATTESTATIONS
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return tmp_path


def test_a_valid_attestation_earns_half_a_point_and_an_expired_one_nothing(
    tmp_path: Path,
) -> None:
    project = _write(
        tmp_path,
        """
data_5: {by: alice, date: 2026-10-01, evidence: "https://wiki/privacy", valid_days: 180}
model_2: {by: bob, date: 2025-01-01, evidence: "https://wiki/online", valid_days: 90}
""",
    )
    result = {t.id: t for t in score(_facts(), attestations.load(project)).tests}
    assert result["data_5"].points == 0.5 and "alice" in result["data_5"].evidence
    assert result["model_2"].points == 0.0
    assert result["model_2"].source == "expired attestation"
    assert "expired 2025-04-01" in result["model_2"].evidence


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "data_9: {by: a, date: 2026-01-01, evidence: x, valid_days: 1}",
            "unknown test 'data_9'",
            id="unknown-test",
        ),
        pytest.param(
            "data_5: {by: a, date: 2026-01-01}", "lacks evidence, valid_days", id="missing-keys"
        ),
        pytest.param(
            "data_5: {by: a, date: soon, evidence: x, valid_days: 1}",
            "attestation 'data_5'",
            id="bad-date",
        ),
    ],
)
def test_bad_attestations_name_the_test(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        attestations.load(_write(tmp_path, text))


def _run(auc: float, config: str = "c1") -> Run:
    tags = {"mlplat.config_hash": config, "mlplat.data_md5": "d1"}
    return Run("r", "e", "FINISHED", tags, {"auc": auc})


@pytest.mark.parametrize(
    ("runs", "points", "says"),
    [
        pytest.param([_run(0.8), _run(0.8)], 1.0, "equal metrics", id="reproduced"),
        pytest.param([_run(0.8), _run(0.81)], 0.0, "auc differs", id="differs"),
        pytest.param([_run(0.8), _run(0.8, "c2")], 0.0, "trained twice", id="never-twice"),
    ],
)
def test_reproducibility_needs_two_equal_trainings(
    runs: list[Run], points: float, says: str
) -> None:
    found = infra_1(_facts(runs=runs))
    assert found.points == points
    assert says in found.evidence


@pytest.mark.parametrize(
    ("task", "metrics"),
    [
        pytest.param("regression", {"rmse": 52.1, "mae": 41.0, "r2": 0.45}, id="regression"),
        pytest.param("multiclass", {"log_loss": 0.31, "accuracy": 0.9}, id="multiclass"),
    ],
)
def test_reproducibility_is_judged_on_the_tasks_own_metrics(
    task: str, metrics: dict[str, float]
) -> None:
    """A regression or multiclass project has no auc: its runs are compared on rmse, log_loss."""
    from mlplat.core.config.model import ModelConfig

    tags = {"mlplat.config_hash": "c1", "mlplat.data_md5": "d1"}
    twice = [Run(f"r{i}", "e", "FINISHED", tags, dict(metrics)) for i in range(2)]
    facts = Facts(
        project=Path("."),
        cfg=PlatformConfig(model=ModelConfig(task=task)),
        model_name="m",
        today=TODAY,
        runs=twice,
    )
    assert infra_1(facts).points == 1.0
    name = next(iter(metrics))
    twice[1].metrics[name] += 0.01
    found = infra_1(facts)
    assert found.points == 0.0 and f"{name} differs" in found.evidence


def test_dependency_notifications_come_from_a_bot_config() -> None:
    assert monitoring_1(_facts()).points == 0.0
    assert monitoring_1(_facts(files={".github/dependabot.yml": "version: 2"})).points == 1.0


def test_feature_cost_needs_compute_and_storage_counted() -> None:
    """data_3: the weaker of the featurize cost (profiled, budgeted) and the storage cost
    (`mlplat gc`'s storage.* in mlplat-storage, by hand or in CI)."""
    budgeted = PlatformConfig()
    budgeted.budget.max_wall_seconds.limit = 600.0
    costed = [Run("r1", "churn", "FINISHED", {}, {"cost.featurize.wall_seconds": 2.0})]
    storage = [
        Run(
            "s2",
            "mlplat-storage",
            "FINISHED",
            {},
            {"storage.usd_month": 0.5, "storage.bytes.total": 2e10},
        ),
        Run("s1", "mlplat-storage", "FINISHED", {}, {"storage.usd_month": 0.1}),
    ]
    before = data_3(_facts(runs=costed))
    assert before.points == 0.0 and "storage never counted" in before.evidence
    by_hand = data_3(_facts(runs=costed, storage_runs=storage))
    assert by_hand.points == 0.5  # no budget limit, and storage counted by hand
    assert "storage 20 GB, 0.5 USD/month (2 `mlplat gc` run(s))" in by_hand.evidence
    budgeted_by_hand = Facts(
        project=Path("."), cfg=budgeted, model_name="m", today=TODAY, runs=costed,
        storage_runs=storage,
    )  # fmt: skip
    assert data_3(budgeted_by_hand).points == 0.5
    budgeted_by_hand.files[".ci/nightly.sh"] = "mlplat gc --apply retention.grace_days=7\n"
    automated = data_3(budgeted_by_hand)
    assert automated.points == 1.0 and "counted by .ci/nightly.sh" in automated.evidence
    assert data_3(_facts(storage_runs=storage)).points == 0.0  # no featurize cost profiled
