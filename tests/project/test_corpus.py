"""A user's own project, from `mlplat init` to served predictions, on data sets we never wrote.

Each case goes through a pip-installed (not editable) mlplat in a fresh venv, in a project made
by `mlplat init`: init -> run -> a second run (gates against the champion) -> `dvc repro` ->
serve and score real rows -> monitor an unshifted and a shifted copy -> a small sweep ->
`mlplat image build --context-only`. Every command's output is read at 80 columns without a TTY,
and no identifier may be cut.
"""

from __future__ import annotations

import json
import math
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from tests.corpus_data import CASES, Case
from tests.installed_support import Installed

pytestmark = pytest.mark.slow
NARROW = {"COLUMNS": "80", "TERM": "dumb"}


def _cmd(installed: Installed, root: Path, *args: str, ok: tuple[int, ...] = (0,)) -> str:
    return _exit(installed, root, *args, ok=ok)[1]


def _exit(
    installed: Installed, root: Path, *args: str, ok: tuple[int, ...] = (0,)
) -> tuple[int, str]:
    """Run a command as a user would, at 80 columns with no TTY: (exit code, all its output)."""
    done = installed.run(*args, cwd=root, env=NARROW)
    text = done.stdout + done.stderr
    assert done.returncode in ok, f"{' '.join(args)} exited {done.returncode}:\n{text[-4000:]}"
    assert "Traceback" not in text, text[-4000:]
    assert "…" not in text, f"an identifier was cut by `{' '.join(args)}`:\n{text}"
    return done.returncode, text


def _init(installed: Installed, case: Case, tmp_path: Path) -> Path:
    data = tmp_path / f"{case.name}.csv"
    case.frame.to_csv(data, index=False)
    _cmd(
        installed,
        tmp_path,
        "mlplat",
        "init",
        case.name,
        "--data",
        str(data),
        "--target",
        case.target,
    )
    return tmp_path / case.name


def _conf(root: Path, group: str) -> dict[str, Any]:
    (path,) = (root / "conf" / group).glob("*.yaml")
    return yaml.safe_load(path.read_text())


def _declared(root: Path, case: Case) -> None:
    """What init inferred: task, positive class, split, baselines and gates."""
    data, model, gates = _conf(root, "data"), _conf(root, "model"), _conf(root, "gates")
    assert model["task"] == case.task
    if case.task == "binary":
        assert str(data["positive_class"]) == case.positive_class
    if case.date_column:
        assert data["timestamp_column"] == case.date_column
        assert data["split"]["strategy"] == "time"
    assert gates, "init declared no gates"


def _metrics(root: Path) -> dict[str, Any]:
    return json.loads((root / "artifacts/baseline/evaluate/metrics.json").read_text())


def _evaluated(root: Path, case: Case) -> None:
    metrics = _metrics(root)
    assert metrics["task"] == case.task
    assert metrics["primary_metric"] == case.primary
    assert {"constant", "linear"} <= set(metrics["baselines"])
    assert {"constant", "linear"} <= set(metrics["lift"])
    segments = json.loads((root / "artifacts/baseline/evaluate/segments.json").read_text())
    if set(case.frame.columns) - {case.target, case.date_column}:  # something to slice by
        assert segments["segments"], "no default segments were evaluated"


def _model_uri(root: Path) -> str:
    registry = _conf(root, "registry")
    data, model = _conf(root, "data"), _conf(root, "model")
    from mlplat.project.scaffold import snake

    name = registry["name_template"].format(
        domain=registry["domain"], target=snake(data["target"]), algorithm=model["algorithm"]
    )
    return f"models:/{name}@challenger"


@contextmanager
def _server(installed: Installed, root: Path, model: str) -> Iterator[str]:
    from mlplat.image.smoke import free_port

    port = free_port()
    proc = subprocess.Popen(
        [str(installed.bin / "mlplat"), "serve", "--model", model, "--port", str(port)],
        cwd=root,
        env=installed.env(NARROW),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                with urllib.request.urlopen(f"{url}/ready", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except (OSError, urllib.error.HTTPError):
                time.sleep(0.3)
        else:
            pytest.fail("the server never became ready")
        yield url
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=60)
        assert "Traceback" not in out, out[-4000:]


def _post(url: str, frame: pd.DataFrame) -> tuple[int, str]:
    body = {
        "dataframe_split": {
            "columns": [str(c) for c in frame.columns],
            "data": [[None if _missing(v) else v for v in row] for row in frame.itertuples(False)],
        }
    }
    request = urllib.request.Request(
        f"{url}/invocations",
        data=json.dumps(body, default=_plain).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else str(value)


OK, BAD, EITHER = "2xx", "4xx", "2xx or 4xx"


def _rows(root: Path, case: Case) -> dict[str, tuple[pd.DataFrame, str]]:
    """Real rows and their variants: what -> (rows, the answer they must get; never a 5xx)."""
    features = case.frame.drop(columns=[case.target]).head(20)
    numeric = [c for c in features.columns if pd.api.types.is_numeric_dtype(features[c])]
    text = [c for c in features.columns if c not in numeric and c != case.date_column]
    schema = _conf(root, "schema")["columns"]
    rows: dict[str, tuple[pd.DataFrame, str]] = {
        "valid": (features, OK),
        "with the target column": (case.frame.head(5), OK),
    }
    if numeric:
        beyond = features.head(3).copy()
        beyond[numeric[0]] = case.frame[numeric[0]].max() * 2 + 1
        rows["beyond the training range"] = (beyond, OK)
        broken = features.head(2).copy()
        broken[numeric[0]] = "not a number"
        rows["a value of the wrong type"] = (broken, BAD)
    missing = features.head(3).copy()
    first = str(features.columns[0])
    missing[first] = None
    rows["with a missing value"] = (missing, OK if schema[first].get("nullable") else BAD)
    if text:
        unseen = features.head(3).copy()
        unseen[text[0]] = "never_seen_in_training"
        policy = schema[str(text[0])].get("unseen", "reject")
        rows["with an unseen category"] = (unseen, OK if policy == "unknown" else EITHER)
    if case.date_column:
        later = features.head(3).copy()
        later[case.date_column] = "2031-06-01"
        rows["next year's dates"] = (later, OK)
    return rows


def _scored(url: str, root: Path, case: Case) -> None:
    for what, (frame, expected) in _rows(root, case).items():
        status, body = _post(url, frame)
        assert status < 500, f"{what}: HTTP {status} {body}"
        if expected == OK:
            assert 200 <= status < 300, f"{what}: HTTP {status} {body}"
            predictions = json.loads(body)["predictions"]
            assert len(predictions) == len(frame), what
        elif expected == BAD:
            assert 400 <= status < 500, f"{what}: HTTP {status} {body}"


def _shifted(case: Case) -> pd.DataFrame:
    """Every numeric input moved by five standard deviations; a table whose only input is a
    date gets every date in January (its features are date parts)."""
    frame = case.frame.copy()
    numeric = [
        c for c in frame.columns if c != case.target and pd.api.types.is_numeric_dtype(frame[c])
    ]
    for column in numeric:
        frame[column] = frame[column] + 5 * (frame[column].std() or 1.0) + 1
    if not numeric and case.date_column:
        frame[case.date_column] = frame[case.date_column].str.replace(
            r"^(\d{4})-\d{2}-", r"\1-01-", regex=True
        )
    return frame


def _trained_on(case: Case) -> pd.DataFrame:
    """Rows like the ones the model learned from: all of them under a random split; under a
    time split the earlier 80%, since a trending series' latest rows really have drifted."""
    if not case.date_column:
        return case.frame
    stamps = pd.to_datetime(case.frame[case.date_column])
    return case.frame[stamps < stamps.quantile(0.8)]


def _monitored(installed: Installed, root: Path, case: Case, model: str) -> None:
    same, moved = root / "same.csv", root / "moved.csv"
    _trained_on(case).sample(frac=1.0, random_state=3).to_csv(same, index=False)
    _shifted(case).to_csv(moved, index=False)
    _cmd(installed, root, "mlplat", "monitor", "--model", model, "--current", str(same))
    text = _cmd(
        installed, root, "mlplat", "monitor", "--model", model, "--current", str(moved), ok=(1,)
    )
    assert "breach" in text.lower()


@pytest.mark.parametrize("make", [pytest.param(f, id=f.__name__) for f in CASES])
def _gated(code: int, text: str) -> None:
    """A run exits 1 only when its version failed a gate, and then says which."""
    if code == 1:
        assert "failed its gates" in text, text[-3000:]


@pytest.mark.parametrize("make", [pytest.param(f, id=f.__name__) for f in CASES])
def test_own_project_end_to_end(
    make: Callable[[], Case], installed: Installed, tmp_path: Path
) -> None:
    case = make()
    root = _init(installed, case, tmp_path)
    _declared(root, case)
    run = ("mlplat", "run", "+experiment=baseline")
    first = _exit(installed, root, *run, ok=(0, 1))
    _gated(*first)
    _evaluated(root, case)
    second = _exit(installed, root, *run, "model.params.seed=7", ok=(0, 1))
    _gated(*second)
    assert "champion" in second[1]
    again = _exit(installed, root, *run, ok=(0, 1))  # the first run's model, once more
    assert "not registered" in again[1] and again[0] == first[0]
    # the register stage exits 1 on a failed gate, and DVC reports a failed stage with 255
    repro = _exit(installed, root, "dvc", "repro", ok=(0, 255) if first[0] else (0,))
    assert not repro[0] or "failed its gates" in repro[1], repro[1][-3000:]
    model = _model_uri(root)
    with _server(installed, root, model) as url:
        _scored(url, root, case)
    _monitored(installed, root, case, model)
    sweep = ("mlplat", "run", "-m", "+experiment=baseline", "model.params.num_leaves=7,15")
    _gated(*_exit(installed, root, *sweep, ok=(0, 1)))
    context = root / "image-context"
    _cmd(
        installed,
        root,
        "mlplat",
        "image",
        "build",
        "--model",
        model,
        "--context-only",
        str(context),
    )
    assert (context / "Dockerfile").is_file()
    assert list((context / "app").glob("mlplat-*.whl")), "the image must install this mlplat"
