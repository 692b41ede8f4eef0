"""The label-free interim estimate (CBPE): on labels drawn from calibrated probabilities it
matches the accuracy and AUC the labels then measure; `online status` shows it per arm apart
from the measured figures, and `online decide` never reads it."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from mlplat.online.cbpe import MAX_ROWS, Estimate, estimate, label_free, per_arm
from mlplat.pipeline.compose import project_declaration
from mlplat.serving.online.state import layout_of
from mlplat.serving.reqlog import record_line
from tests.conftest import make_project, mlplat

ONLY_PLAN = "online.decision.segments=[plan]"


@pytest.mark.parametrize(
    ("decimals", "threshold"),
    [
        pytest.param(None, 0.5, id="distinct-scores"),
        pytest.param(2, 0.5, id="tied-scores"),
        pytest.param(None, 0.3, id="lower-threshold"),
    ],
)
def test_the_estimate_matches_what_calibrated_labels_measure(
    decimals: int | None, threshold: float
) -> None:
    rng = np.random.default_rng(7)
    p = rng.beta(2, 3, 200_000)
    if decimals is not None:
        p = np.round(p, decimals)
    y = (rng.random(p.size) < p).astype(int)  # labels as calibrated probabilities promise
    found = estimate(p, threshold)
    measured = float(np.mean((p >= threshold) == y))
    assert found.rows == p.size
    # both within 5 standard errors at this size (about 0.001 each)
    assert found.expected_accuracy == pytest.approx(measured, abs=0.005)
    assert found.expected_auc == pytest.approx(roc_auc_score(y, p), abs=0.005)


def test_an_uncalibrated_model_gets_a_wrong_estimate() -> None:
    """What the docs warn of: the estimate believes the probabilities it is given."""
    rng = np.random.default_rng(3)
    truth = rng.uniform(0, 1, 50_000)
    y = (rng.random(truth.size) < truth).astype(int)
    overconfident = np.where(truth >= 0.5, 0.99, 0.01)  # same ranking, far too sure
    found = estimate(overconfident, 0.5)
    measured = float(np.mean((overconfident >= 0.5) == y))
    assert found.expected_accuracy is not None
    assert found.expected_accuracy - measured > 0.2


@pytest.mark.parametrize(
    ("p", "threshold", "expected"),
    [
        pytest.param(
            [1.0, 1.0, 0.0, 0.0, 0.0],
            0.5,
            Estimate(5, 1.0, 1.0, (1.0, 1.0), (1.0, 1.0)),  # certain: one value each
            id="certain",
        ),
        # right with p = 0.8 and 1 - 0.4; the curve through (0.25, 2/3) to (1, 1): 17/24.
        # Two rows measure an accuracy of 0, 1/2 or 1, and an AUC of 0 or 1 (0.8 * 0.6 of the
        # time the higher p is the positive one, 0.2 * 0.4 the lower)
        pytest.param([0.8, 0.4], 0.5, Estimate(2, 0.7, 17 / 24, (0, 1), (0, 1)), id="two-rows"),
        pytest.param(
            [0.8, 0.4], 0.9, Estimate(2, 0.4, 17 / 24, (0, 1), (0, 1)), id="high-threshold"
        ),
        # tied scores measure an AUC of 0.5 whatever the labels
        pytest.param(
            [0.3, 0.3, 0.3], 0.5, Estimate(3, 0.7, 0.5, (0, 1), (0.5, 0.5)), id="all-tied"
        ),
    ],
)
def test_exact_values(p: list[float], threshold: float, expected: Estimate) -> None:
    found = estimate(np.asarray(p), threshold)
    assert found.rows == expected.rows
    assert found.expected_accuracy == pytest.approx(expected.expected_accuracy)
    assert found.expected_auc == pytest.approx(expected.expected_auc)
    assert found.accuracy_interval == pytest.approx(expected.accuracy_interval)
    assert found.auc_interval == pytest.approx(expected.auc_interval)


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        pytest.param([], Estimate(0, None, None, None, None), id="no-rows"),
        # one row is right or wrong, and has no AUC whatever its label
        pytest.param([0.8], Estimate(1, 0.8, 0.5, (0.0, 1.0), None), id="one-row"),
        pytest.param([0.0, 0.0], Estimate(2, 1.0, None, (1.0, 1.0), None), id="no-positive"),
        pytest.param([1.0, 1.0, 1.0], Estimate(3, 1.0, None, (1.0, 1.0), None), id="no-negative"),
    ],
)
def test_degenerate_inputs_give_no_auc(p: list[float], expected: Estimate) -> None:
    assert estimate(np.asarray(p, dtype=float), 0.5) == expected


def coverage(rows: int, samples: int, seed: int) -> tuple[float, float]:
    """How often the accuracy and AUC that labels drawn from calibrated probabilities measure
    fall inside the intervals estimated from those probabilities: each sample new rows, new
    labels."""
    rng = np.random.default_rng(seed)
    inside = np.zeros(2)
    for _ in range(samples):
        p = rng.beta(2, 3, rows)
        y = rng.random(rows) < p
        found = estimate(p, 0.5)
        assert found.accuracy_interval is not None and found.auc_interval is not None
        measured = (np.mean((p >= 0.5) == y), roc_auc_score(y, p))
        for i, (value, (low, high)) in enumerate(
            zip(measured, (found.accuracy_interval, found.auc_interval), strict=True)
        ):
            inside[i] += low <= value <= high
    return inside[0] / samples, inside[1] / samples


# 200 samples: 95% within three binomial standard errors (0.015 each) on either side
TOLERANCE = 3 * np.sqrt(0.95 * 0.05 / 200)


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param(300, id="300-rows"),
        pytest.param(1_000, id="1000-rows"),
        # beyond MAX_ROWS: a sample of the rows, its spread narrowed
        pytest.param(3 * MAX_ROWS, id="sampled", marks=pytest.mark.slow),
    ],
)
def test_the_intervals_hold_the_measured_figures_95_percent_of_the_time(rows: int) -> None:
    accuracy, auc = coverage(rows, samples=200, seed=rows)
    assert abs(accuracy - 0.95) <= TOLERANCE, accuracy
    assert abs(auc - 0.95) <= TOLERANCE, auc


def test_the_intervals_narrow_as_rows_grow() -> None:
    """About as 1/sqrt(rows), on either side of MAX_ROWS (where the AUC's is scaled)."""
    rng = np.random.default_rng(11)
    sizes = [100, 1_000, MAX_ROWS, 10 * MAX_ROWS]
    widths = []
    for rows in sizes:
        found = estimate(rng.beta(2, 3, rows), 0.5)
        assert found.accuracy_interval is not None and found.auc_interval is not None
        widths.append([high - low for low, high in (found.accuracy_interval, found.auc_interval)])
    for i in range(len(sizes) - 1):
        ratio = np.sqrt(sizes[i + 1] / sizes[i])
        narrowed = np.divide(widths[i], widths[i + 1])
        assert np.all((0.75 * ratio < narrowed) & (narrowed < 1.3 * ratio)), (sizes[i], narrowed)


def test_each_arm_is_judged_at_the_threshold_its_server_logged() -> None:
    rows = pd.DataFrame(
        {
            "arm": ["champion", "champion", "challenger", "challenger"],
            "prediction": [0.7, 0.7, 0.7, 0.7],
            "threshold": [None, None, 0.9, 0.9],  # the champion's log predates the field
        }
    )
    found = per_arm(rows, threshold=0.5)
    assert found["champion"].expected_accuracy == pytest.approx(0.7)  # predicted positive
    assert found["challenger"].expected_accuracy == pytest.approx(0.3)  # negative at 0.9
    assert found["champion"].rows == found["challenger"].rows == 2


def log_rows(root: Path, rows: list[tuple[str, str, float]]) -> None:
    """An online log of a split experiment, written as servers write it (one row a request)."""
    lines = b""
    for i, (rid, arm, p) in enumerate(rows):
        extra = {"arm": arm, "experiment": "default", "mode": "split", "status": 200}
        version = "2" if arm == "challenger" else "1"
        inputs = {"plan": [["basic", "pro"][i // 2 % 2]]}  # both plans in both arms
        lines += record_line(rid, "churn", version, 2.0, inputs, [p], extra)
    requests = root / "online" / "default" / "requests"
    requests.mkdir(parents=True, exist_ok=True)
    (requests / "requests-1.jsonl").write_bytes(lines)


def labelled_then_waiting(root: Path, waiting: list[float]) -> None:
    """400 labelled rows (labels drawn from the challenger's P), then rows still waiting for
    their labels, with the given probabilities, split between the arms."""
    rng = np.random.default_rng(0)
    truth = rng.uniform(0.05, 0.95, 400)
    y = (rng.random(truth.size) < truth).astype(int)
    arms = ["champion", "challenger"]
    done = [(f"r{i}", arms[i % 2], float(truth[i])) for i in range(truth.size)]
    later = [(f"w{i}", arms[i % 2], p) for i, p in enumerate(waiting)]
    log_rows(root, done + later)
    labels = pd.DataFrame({"request_id": [r for r, _, _ in done], "label": y})
    labels.to_csv(root / "labels.csv", index=False)
    joined = mlplat("feedback", "--labels", str(root / "labels.csv"), cwd=root)
    assert joined.returncode == 0, joined.stderr


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj", rows=200)


def test_status_shows_the_estimate_on_unlabelled_rows_apart(root: Path) -> None:
    waiting = [0.9, 0.9, 0.2, 0.2, 0.6, 0.6]  # champion 0.9, 0.2, 0.6; the same challenger
    labelled_then_waiting(root, waiting)
    found = json.loads(mlplat("online", "status", "--json", ONLY_PLAN, cwd=root).stdout)
    assert sum(a["labelled"] for a in found["arms"]) == 400
    free = found["label_free"]
    mine = estimate(np.asarray([0.9, 0.2, 0.6]), 0.5)  # the served threshold (the config's)
    assert free["champion"] == free["challenger"] == json.loads(json.dumps(asdict(mine)))
    assert free["champion"]["rows"] == 3 and free["champion"]["expected_accuracy"] > 0.7
    status = mlplat("online", "status", ONLY_PLAN, cwd=root, env={"COLUMNS": "80"})
    shown = " ".join((status.stdout + status.stderr).split())  # the title wraps at 80
    assert "estimated without labels" in shown and "never used to decide" in shown
    assert mine.expected_accuracy is not None and mine.accuracy_interval is not None
    low, high = mine.accuracy_interval
    assert "expected accuracy [95%]" in shown
    assert f"{mine.expected_accuracy:.4f} [{low:.4f}, {high:.4f}]" in shown


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_a_multiclass_or_regression_model_gets_no_estimate(root: Path, task: str) -> None:
    """No single probability to lean on: the estimate is left out, not an error."""
    labelled_then_waiting(root, [0.9, 0.9])
    cfg, _ = project_declaration(root, [ONLY_PLAN])
    layout = layout_of(cfg.online, cfg.experiment_name, root)
    assert set(label_free(layout, cfg)) == {"champion", "challenger"}  # binary, as declared
    other = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, task=task))
    assert label_free(layout, other) == {}


def test_decide_gives_the_same_verdict_whatever_the_estimate_says(root: Path) -> None:
    """Waiting rows with the same mean prediction (what the shift guardrail reads) but nothing
    alike for the estimate: sure and right, or a coin toss."""
    decisions, estimates = [], []
    for waiting in ([0.02, 0.02, 0.98, 0.98] * 50, [0.5] * 200):
        labelled_then_waiting(root, waiting)
        found = mlplat("online", "decide", "--json", ONLY_PLAN, cwd=root)
        assert found.returncode in (0, 1, 3), found.stderr
        decided = json.loads(found.stdout)
        estimates.append(decided.pop("label_free"))
        decisions.append(decided)
    assert estimates[0]["challenger"]["expected_auc"] > 0.9
    assert estimates[1]["challenger"]["expected_auc"] == pytest.approx(0.5)
    assert decisions[0] == decisions[1]
