"""The validate stage inside the real `mlplat run`: a corrupted batch fails the run, names the
column, leaves a FAILED MLflow run with the report, and touches neither the registry nor the
previous run's outputs. One successful baseline run is shared by the whole module."""

from __future__ import annotations

import hashlib
import io
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from mlplat.core.io import read_json
from tests.conftest import make_project, mlplat, tracking_uri

pytestmark = pytest.mark.slow  # every test starts from a trained baseline run

EXPERIMENT = "churn_baseline"
RUN = ("run", f"+experiment={EXPERIMENT}")
MODEL = "telco-churn-lgbm"
KEPT = ("validate", "train", "bundle", "featurize", "evaluate")  # the successful run's outputs


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_project(tmp_path_factory.mktemp("baseline") / "proj")
    done = mlplat(*RUN, cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    return root


@pytest.fixture
def copy(baseline: Path, tmp_path: Path) -> Path:
    """The baseline project after its successful run; each corruption gets its own copy."""
    return Path(shutil.copytree(baseline, tmp_path / "proj"))


def client(root: Path) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri(root))


def latest_run(root: Path) -> Any:
    mlflow_client = client(root)
    experiment = mlflow_client.get_experiment_by_name(EXPERIMENT)
    return mlflow_client.search_runs(
        [experiment.experiment_id], order_by=["start_time DESC"], max_results=1
    )[0]


def fingerprint(root: Path) -> dict[str, tuple[str, int]]:
    base = root / "artifacts" / EXPERIMENT
    return {
        str(p.relative_to(base)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for part in KEPT
        for p in sorted((base / part).rglob("*"))
        if p.is_file()
    }


# ---------------------------------------------------------------- the corruption corpus
Frame = pd.DataFrame


def via_frame(change: Callable[[Frame], Frame]) -> Callable[[bytes], bytes]:
    def corrupt(raw: bytes) -> bytes:
        return (
            change(pd.read_csv(io.BytesIO(raw), keep_default_na=False, dtype=str))
            .to_csv(index=False)
            .encode()
        )

    return corrupt


def cells(column: str, value: str, rows: slice = slice(10, 13)) -> Callable[[Frame], Frame]:
    def change(frame: Frame) -> Frame:
        frame.loc[frame.index[rows], column] = value
        return frame

    return change


def duplicate_ids(frame: Frame) -> Frame:
    frame.loc[frame.index[20:23], "customer_id"] = frame.loc[frame.index[0], "customer_id"]
    return frame


def swap_columns(frame: Frame) -> Frame:
    order = list(frame.columns)
    i, j = order.index("region"), order.index("plan")
    order[i], order[j] = order[j], order[i]
    return frame[order]


def truncate(raw: bytes) -> bytes:
    """Cut the file inside the last row's `plan` field, as an interrupted copy would."""
    last = raw.rstrip(b"\n").rfind(b"\n") + 1
    fields = raw[last:].split(b",")
    cut = last + len(b",".join(fields[:3])) + 3  # customer_id,signup_date,region,pl
    return raw[:cut]


def latin1(raw: bytes) -> bytes:
    """One region written by a Windows tool in Latin-1: 'südwest' is not UTF-8."""
    lines = raw.split(b"\n")
    fields = lines[7].split(b",")
    fields[2] = "südwest".encode("latin-1")
    lines[7] = b",".join(fields)
    return b"\n".join(lines)


# id -> (corruption of the CSV bytes, the column the report must blame, extra overrides)
CORPUS: dict[str, tuple[Callable[[bytes], bytes], str, tuple[str, ...]]] = {
    "null-in-non-nullable": (via_frame(cells("monthly_charges", "")), "monthly_charges", ()),
    "wrong-dtype": (via_frame(cells("num_lines", "three")), "num_lines", ()),
    "out-of-range": (via_frame(cells("age", "150")), "age", ()),
    "unknown-category": (via_frame(cells("region", "atlantis")), "region", ()),
    "unparseable-date": (via_frame(cells("signup_date", "2024-13-45")), "signup_date", ()),
    "date-out-of-bounds": (via_frame(cells("signup_date", "1970-01-01")), "signup_date", ()),
    "extra-column": (via_frame(lambda f: f.assign(notes="call back")), "notes", ()),
    "missing-column": (via_frame(lambda f: f.drop(columns="plan")), "plan", ()),
    "wrong-order-with-ordered": (via_frame(swap_columns), "region", ("schema.ordered=true",)),
    "duplicate-ids": (via_frame(duplicate_ids), "customer_id", ()),
    "pinned-to-one-value": (via_frame(cells("contract", "one_year", slice(None))), "contract", ()),
    "target-never-positive": (via_frame(cells("churn", "0", slice(None))), "churn", ()),
    "header-only": (lambda raw: raw.split(b"\n", 1)[0] + b"\n", "<frame>", ()),
    "empty-file": (lambda raw: b"", "<file>", ()),
    "truncated-csv": (truncate, "plan", ()),
    "unreadable-encoding": (latin1, "region", ()),
}


@pytest.mark.parametrize("case", [pytest.param(k, id=k) for k in CORPUS])
def test_corrupted_data_fails_the_run_and_changes_nothing(copy: Path, case: str) -> None:
    corrupt, column, overrides = CORPUS[case]
    data = copy / "data" / "churn.csv"
    data.write_bytes(corrupt(data.read_bytes()))
    before = fingerprint(copy)
    versions = len(client(copy).search_model_versions(f"name='{MODEL}'"))

    done = mlplat(*RUN, *overrides, cwd=copy)

    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert column in output
    # a failed run publishes nothing: its report stays in its own directory (docs/reliability.md)
    [report_path] = (copy / "artifacts" / EXPERIMENT / ".runs").glob("*/validate/report.json")
    report = read_json(report_path)
    assert report["valid"] is False
    assert column in {f["column"] for f in report["failures"]}, report
    if column == "<file>":
        assert "churn.csv" in report["failures"][0]["examples"][0]
    run = latest_run(copy)
    assert run.info.status == "FAILED"
    attached = client(copy).download_artifacts(
        run.info.run_id, "validation/report.json", str(copy / "downloaded")
    )
    assert read_json(attached) == report
    assert len(client(copy).search_model_versions(f"name='{MODEL}'")) == versions == 1
    assert fingerprint(copy) == before  # no model trained, no bundle rewritten


# ---------------------------------------------------------------- the successful run's records
def test_data_md5_tag_is_what_dvc_add_records(baseline: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    import yaml

    shutil.copyfile(baseline / "data" / "churn.csv", tmp_path / "churn.csv")
    dvc = [sys.executable, "-m", "dvc"]
    for args in (["init", "--no-scm", "-q"], ["add", "-q", "churn.csv"]):
        done = subprocess.run(
            [*dvc, *args], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr
    recorded = yaml.safe_load((tmp_path / "churn.csv.dvc").read_text())["outs"][0]["md5"]
    run = client(baseline).search_runs(
        [client(baseline).get_experiment_by_name(EXPERIMENT).experiment_id],
        filter_string="attributes.status = 'FINISHED'",
    )[0]
    assert run.data.tags["mlplat.data_md5"] == recorded


def test_bundle_holds_a_complete_reference_profile(baseline: Path) -> None:
    bundle = baseline / "artifacts" / EXPERIMENT / "bundle"
    profile = read_json(bundle / "profile.json")
    spec = read_json(bundle / "feature_spec.json")
    train = pd.read_parquet(baseline / "artifacts" / EXPERIMENT / "featurize" / "train.parquet")
    assert profile["rows"] == len(train)
    assert set(profile["features"]) == {f["name"] for f in spec["features"]}
    for feature in spec["features"]:
        stats = profile["features"][feature["name"]]
        assert stats["count"] == len(train)
        assert 0.0 <= stats["null_rate"] <= 1.0
        present = round(len(train) * (1 - stats["null_rate"]))
        if feature["kind"] == "category":
            assert list(stats["frequencies"]) == feature["categories"]
            assert sum(stats["frequencies"].values()) == present
        else:
            assert len(stats["counts"]) == len(stats["edges"]) + 1
            assert stats["edges"] == sorted(stats["edges"])
            assert sum(stats["counts"]) == present
            assert stats["min"] <= stats["max"]
    # nulls are measured, not assumed: total_charges is blank for brand-new customers
    assert profile["features"]["total_charges_log"]["null_rate"] == pytest.approx(
        train["total_charges"].isna().mean()
    )
    assert profile["features"]["monthly_charges"]["min"] == pytest.approx(
        train["monthly_charges"].min()
    )
    prediction = profile["prediction"]
    assert sum(prediction["counts"]) == len(train) and len(prediction["edges"]) >= 5
    assert 0.0 <= prediction["min"] <= prediction["max"] <= 1.0


# ---------------------------------------------------------------- mlplat validate on its own
@pytest.mark.parametrize(
    ("corruption", "code"),
    [
        pytest.param(None, 0, id="valid"),
        pytest.param("unknown-category", 1, id="invalid"),
        pytest.param("empty-file", 1, id="unreadable"),
    ],
)
def test_validate_command_exit_codes(copy: Path, corruption: str | None, code: int) -> None:
    other = copy / "incoming.csv"
    raw = (copy / "data" / "churn.csv").read_bytes()
    other.write_bytes(CORPUS[corruption][0](raw) if corruption else raw)
    done = mlplat("validate", f"+experiment={EXPERIMENT}", "--data", str(other), cwd=copy)
    assert done.returncode == code, done.stdout + done.stderr
    report = read_json(copy / "artifacts" / EXPERIMENT / "validate" / "report.json")
    assert report["source"] == str(other) and report["valid"] is (code == 0)


def test_validate_command_missing_file_is_a_usage_error(copy: Path) -> None:
    done = mlplat("validate", f"+experiment={EXPERIMENT}", "--data", "nope.csv", cwd=copy)
    assert done.returncode == 2
    assert "nope.csv" in done.stderr and "--data" in done.stderr
