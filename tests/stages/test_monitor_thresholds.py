"""Monitoring limits that fit the data size (issue 19, item 12): on small data sets the training
file itself and an unshifted resample never breach, and a shifted copy does; the sampling
allowances hold their stated significance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlplat.core import bounds
from mlplat.core.config.bounds import bounds_of, check_overrides
from mlplat.core.config.ops import MonitoringConfig
from mlplat.core.features import transform
from mlplat.core.reference_stats import build_profile
from mlplat.core.vocabulary import DriftTest
from mlplat.stages.monitor import drift
from tests.dvc_support import mlplat

SETS = {"diabetes": 442, "iris": 150, "wine": 178, "breast_cancer": 569}


def sklearn_frame(name: str) -> pd.DataFrame:
    from sklearn import datasets

    frame = getattr(datasets, f"load_{name}")(as_frame=True).frame
    return frame.rename(columns=lambda c: c.replace(" ", "_"))  # `petal_length_(cm)` stays


def shifted(frame: pd.DataFrame) -> pd.DataFrame:
    column = frame.columns[0]
    values = frame[column]
    return frame.assign(**{column: values * 1.6 + values.std()})


CASES = {
    "itself": lambda f: f,
    "resample": lambda f: f.sample(len(f), replace=True, random_state=1),
    "shifted": shifted,
}


def breached(
    frame: pd.DataFrame, current: pd.DataFrame, cfg: MonitoringConfig | None = None
) -> list[str]:
    """Every drift and skew check of the features, profiled on a seeded 80% training split."""
    features = frame.drop(columns=["target"])
    spec = {"features": [{"name": c, "kind": "passthrough", "column": c} for c in features]}
    train = features.sample(frac=0.8, random_state=0)
    profile = build_profile(spec, transform(spec, train), np.zeros(len(train)))
    alpha = bounds.family_alpha(0.99, len(spec["features"]) + 1)
    found = drift.feature_drift(
        spec, profile, transform(spec, current), {}, cfg or MonitoringConfig(), alpha
    )
    return [c.line() for f in found for c in f.checks if c.breached]


@pytest.mark.parametrize("name", [pytest.param(n, id=f"{n}-{rows}") for n, rows in SETS.items()])
@pytest.mark.parametrize("case", list(CASES))
def test_small_sets_breach_only_when_shifted(name: str, case: str) -> None:
    frame = sklearn_frame(name)
    assert len(frame) == SETS[name]
    found = breached(frame, CASES[case](frame))
    if case == "shifted":
        first = frame.columns[0]
        assert f"skew.out_of_range[{first}]" in " ".join(found), found
        assert f"drift.psi[{first}]" in " ".join(found), found
    else:
        assert found == [], found


@pytest.mark.parametrize("test", list(DriftTest))
def test_every_drift_test_has_a_declared_limit(test: DriftTest) -> None:
    """The config check admits a per-feature override of each drift test's limit."""
    assert test.limit_key in bounds_of(MonitoringConfig)
    overrides = {"age": {test.limit_key: 0.0 if test.is_test else 0.5}}
    check_overrides(overrides, MonitoringConfig, "monitoring.feature_thresholds")


def test_a_per_feature_drift_limit_is_the_one_used() -> None:
    frame = sklearn_frame("iris")
    first = frame.columns[0]
    loose = {first: {DriftTest.PSI.limit_key: 1e9, DriftTest.KS.limit_key: 0.0}}
    found = " ".join(breached(frame, shifted(frame), MonitoringConfig(feature_thresholds=loose)))
    assert f"drift.psi[{first}]" not in found and f"drift.ks[{first}]" not in found
    assert f"skew.out_of_range[{first}]" in found


def simulated_share(limit: float, counts: np.ndarray, n: int) -> float:
    return float(np.mean(counts / n > limit))


@pytest.mark.parametrize(("n", "m"), [(263, 210), (50, 120), (2000, 400)])
def test_the_out_of_range_allowance_holds_its_significance(n: int, m: int) -> None:
    """Fresh rows of the training distribution fall outside a training range more often than
    alpha only with chance alpha (simulated over 4,000 training sets)."""
    rng = np.random.default_rng(11)
    alpha = 0.01
    limit = bounds.outside_range_limit(n, m, alpha)
    train = rng.standard_normal((4000, m))
    new = rng.standard_normal((4000, n))
    lo, hi = train.min(axis=1, keepdims=True), train.max(axis=1, keepdims=True)
    outside = ((new < lo) | (new > hi)).sum(axis=1)
    assert simulated_share(limit, outside, n) <= 2 * alpha
    # a plain binomial limit at the average rate would alert far more often
    naive = bounds.rate_limit(2 / (m + 1), n, alpha)
    assert simulated_share(naive, outside, n) > 2 * alpha


def test_the_psi_allowance_holds_its_significance() -> None:
    """PSI between two samples of one distribution exceeds the chi-square allowance with
    chance about alpha; the bare 0.2 limit is exceeded far more often at this size."""
    from mlplat.stages.monitor.stats import psi

    rng = np.random.default_rng(5)
    bins, n, m, alpha = 10, 60, 120, 0.01
    shares = np.full(bins, 1 / bins)
    reference = rng.multinomial(m, shares, size=4000)
    current = rng.multinomial(n, shares, size=4000)
    values = np.array([psi(r, c) for r, c in zip(reference, current, strict=True)])
    allowance = bounds.chi2_allowance(bins - 1, n, m, alpha)
    assert float(np.mean(values > allowance)) <= 3 * alpha
    assert float(np.mean(values > 0.2)) > 10 * alpha


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A project `mlplat init` made from each data set, trained once."""
    base = tmp_path_factory.mktemp("small-sets")
    out = {}
    for name in SETS:
        source = base / f"{name}.csv"
        sklearn_frame(name).to_csv(source, index=False)
        mlplat("init", name, "--data", str(source), "--target", "target", cwd=base)
        mlplat("run", "+experiment=baseline", cwd=base / name)
        out[name] = base / name
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SETS))
def test_monitor_on_small_init_projects(name: str, projects: dict[str, Path]) -> None:
    root = projects[name]
    frame = pd.read_csv(root / "data" / f"{name}.csv")
    for case, make in CASES.items():
        make(frame).to_csv(root / f"{case}.csv", index=False)
        done = mlplat(
            "monitor",
            "--model",
            "artifacts/baseline/bundle",
            "--current",
            f"{case}.csv",
            "--json",
            cwd=root,
            check=False,
        )
        summary = json.loads(done.stdout)
        assert done.returncode == (1 if case == "shifted" else 0), (case, summary["breaches"])


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SETS))
def test_validate_in_init_projects_fails_a_pinned_column(
    name: str, projects: dict[str, Path]
) -> None:
    """The seed case of data validation, with the schema `mlplat init` wrote."""
    root = projects[name]
    frame = pd.read_csv(root / "data" / f"{name}.csv")
    column = frame.columns[1]
    frame.assign(**{column: frame[column].iloc[0]}).to_csv(root / "pinned.csv", index=False)
    args = ("validate", "+experiment=baseline", "--data", "pinned.csv", "--json")
    done = mlplat(*args, cwd=root, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    failures = json.loads(done.stdout)["failures"]
    assert (column, "learned.constant") in {(f["column"], f["check"]) for f in failures}
    assert mlplat("validate", "+experiment=baseline", cwd=root, check=False).returncode == 0


@pytest.mark.parametrize(("n", "m"), [(263, 210), (50, 120), (2000, 400), (5000, 50), (1, 2)])
def test_the_fast_out_of_range_quantile_is_scipys(n: int, m: int) -> None:
    from scipy.stats import betabinom

    alpha = 0.01 / 15
    assert bounds.outside_range_limit(n, m, alpha) == betabinom.ppf(1 - alpha, n, 2, m - 1) / n
