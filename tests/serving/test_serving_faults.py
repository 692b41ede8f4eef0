"""Issue 20, items 1, 5 and 7 (serve): a model LightGBM cannot parse never takes a process down,
and hot swap tells the truth. Real `mlplat serve` processes on 127.0.0.1, a real sqlite registry.

The malformed model keeps every checksum (its manifest is re-hashed) and makes LightGBM abort the
process that parses it; see docs/reliability.md for the promises these tests hold.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from mlplat.image.smoke import free_port
from tests.conftest import mlplat
from tests.serving_support import (
    MODEL,
    ROUNDS,
    bundle_dir,
    client,
    env_for,
    malformed_bundle,
    register,
    rehash,
    request,
    running_server,
    sample_split,
    trained_project,
)

TOKEN = "s3cret-for-tests"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
NO_POLL = ("--poll-interval", "0")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example project trained once (version 1), and a malformed copy of its bundle."""
    root = trained_project(tmp_path_factory.mktemp("faults") / "proj")
    malformed_bundle(bundle_dir(root), root / "malformed")
    return root


def alias(root: Path, name: str, version: str) -> None:
    client(root).set_registered_model_alias(MODEL, name, version)


def served(root: Path, name: str, *args: str, **kw: Any) -> Any:
    """A server following models:/MODEL@name, with the admin endpoint on."""
    env = {"MLPLAT_ADMIN_TOKEN": TOKEN, **kw.pop("env", {})}
    return running_server(root, "--model", f"models:/{MODEL}@{name}", *args, env=env, **kw)


def get(port: int, path: str) -> tuple[int, Any]:
    status, _, body = request(port, "GET", path)
    return status, json.loads(body)


def reload(port: int) -> dict[str, Any]:
    status, _, body = request(port, "POST", "/admin/reload", b"", ADMIN)
    assert status == 200, body
    return dict(json.loads(body))


def metric(port: int, line: str) -> float | None:
    """The value of one sample line of /metrics (`name{labels}`), None if absent."""
    for text in request(port, "GET", "/metrics")[2].decode().splitlines():
        if text.startswith(line + " "):
            return float(text.split()[-1])
    return None


def wait_for(check: Any, timeout: float = 30, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what or check}")


@contextmanager
def scoring_in_background(root: Path, port: int) -> Iterator[list[int]]:
    """Score one row after another on one keep-alive connection until the block ends."""
    import http.client

    body = json.dumps({"dataframe_split": sample_split(root)})
    statuses: list[int] = []
    stop = threading.Event()

    def loop() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while not stop.is_set():
            conn.request("POST", "/invocations", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
        conn.close()

    worker = threading.Thread(target=loop)
    worker.start()
    try:
        yield statuses
    finally:
        stop.set()
        worker.join(30)


def stopped(proc: subprocess.Popen[str], how: signal.Signals = signal.SIGTERM) -> str:
    """Stop the server (inside its `with` block, which closes the pipe) and return its log."""
    proc.send_signal(how)
    proc.wait(30)
    return proc.stdout.read() if proc.stdout else ""


# -- item 1: a model LightGBM cannot parse --------------------------------------------------


@pytest.mark.slow
def test_malformed_version_is_refused_on_hot_swap_while_requests_flow(root: Path) -> None:
    bad = register(root, root / "malformed", "swap-bad")
    alias(root, "swap", "1")
    with served(root, "swap", *NO_POLL) as (proc, port), scoring_in_background(root, port) as ok:
        alias(root, "swap", bad)
        proc.send_signal(signal.SIGHUP)
        refused = wait_for(
            lambda: (get(port, "/version")[1].get("last_refused") or {}).get("version") == bad,
            what="the refusal after SIGHUP",
        )
        answer = reload(port)  # the admin endpoint takes the same guarded path
        info = get(port, "/version")[1]
        ready = get(port, "/ready")
        failures = metric(port, 'mlplat_model_reload_failures_total{reason="probe"}')
        ready_gauge = metric(port, "mlplat_model_ready")
        log = stopped(proc)
    assert refused and answer["outcome"] == "refused: probe", answer
    assert proc.returncode == 0, log  # it ran until the SIGTERM that ended the test, and exited
    assert info["model_version"] == "1" and info["ready"] is True
    assert info["last_refused"]["kind"] == "probe"
    assert "SIGABRT" in info["last_refused"]["reason"]
    assert "leaf_value" in info["last_refused"]["reason"]
    assert ready == (200, {"ready": True, "model_version": "1"})
    assert failures == 1.0 and ready_gauge == 1.0  # counted once, not once per attempt
    assert ok and set(ok) == {200}, f"{len(ok)} background requests: {set(ok)}"
    assert f"model version {bad} refused (probe)" in log


@pytest.mark.slow
def test_startup_without_a_good_version_stays_up_not_ready(root: Path, tmp_path: Path) -> None:
    directory = shutil.copytree(root / "malformed", tmp_path / "bundle")
    args = ("--model", str(directory), *NO_POLL)
    env = {"MLPLAT_ADMIN_TOKEN": TOKEN}
    with running_server(root, *args, env=env, until="/health") as (proc, port):
        assert get(port, "/health") == (200, {"status": "ok"})
        status, body = get(port, "/ready")
        assert status == 503 and body["ready"] is False
        assert "refused (probe)" in body["reason"] and "SIGABRT" in body["reason"], body
        status, info = get(port, "/version")
        assert status == 503 and info["last_refused"]["kind"] == "probe", info
        assert metric(port, "mlplat_model_ready") == 0.0
        status, _, _ = request(port, "POST", "/invocations", json.dumps({"inputs": {}}))
        assert status == 503
        assert get(port, "/openapi.json")[0] == 503
        answer = reload(port)  # tries again, and still refuses
        assert answer["outcome"] == "refused: probe" and answer["model_version"] is None
        shutil.rmtree(directory)  # the operator repairs the bundle and signals the server
        shutil.copytree(bundle_dir(root), directory)
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: get(port, "/ready")[0] == 200, what="ready after the repair")
        assert metric(port, "mlplat_model_ready") == 1.0
    assert proc.returncode == 0


@pytest.mark.slow
def test_monitor_refuses_a_malformed_model_with_one_line(root: Path) -> None:
    done = mlplat(
        "monitor",
        "--model",
        str(root / "malformed"),
        "--current",
        "data/churn.csv",
        "--output",
        "reports/malformed",
        cwd=root,
        env=env_for(root),
    )
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
    error = " ".join(done.stderr.split())
    assert "cannot be monitored" in error and "SIGABRT" in error, error
    assert "Traceback" not in done.stderr
    assert not (root / "reports" / "malformed").exists()


@pytest.mark.slow
def test_image_smoke_probes_the_baked_bundle_before_loading_it(root: Path) -> None:
    """The in-process half of `mlplat image test` (the engine half needs Docker: see
    tests/image/test_image_engine.py); run in a child, since the old code aborted the process."""
    from mlplat.image.smoke import expected

    payload, values = expected(bundle_dir(root))
    assert len(payload["dataframe_split"]["data"]) == len(values) == 20
    script = (
        "import sys; from pathlib import Path; from mlplat.image.errors import ImageError\n"
        "from mlplat.image.smoke import expected\n"
        "try:\n    expected(Path(sys.argv[1]))\n"
        "except ImageError as exc:\n    print('refused:', exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(root / "malformed")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert "refused: the image's bundle cannot be loaded" in done.stdout
    assert "SIGABRT" in done.stdout


@pytest.mark.slow
def test_probe_reports_the_reason_and_honours_its_timeout(root: Path) -> None:
    from mlplat.core.probe import ProbeError, probe

    assert probe(bundle_dir(root)).rows == 20
    with pytest.raises(ProbeError, match=r"signal SIGABRT\): .*leaf_value"):
        probe(root / "malformed")
    with pytest.raises(ProbeError, match=r"within 0\.01 s"):
        probe(bundle_dir(root), timeout=0.01)


@pytest.mark.slow
def test_gates_refuse_a_malformed_champion_with_one_line(root: Path) -> None:
    bad = register(root, root / "malformed", "champion")
    versions = len(client(root).search_model_versions(f"name='{MODEL}'"))
    done = mlplat("run", "+experiment=churn_baseline", ROUNDS, cwd=root, env=env_for(root))
    error = " ".join(done.stderr.split())
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
    assert f"champion '{MODEL}' v{bad} cannot be loaded" in error and "SIGABRT" in error, error
    assert "Traceback" not in done.stderr
    assert len(client(root).search_model_versions(f"name='{MODEL}'")) == versions
    alias(root, "champion", "1")


# -- item 5: hot swap that tells the truth ---------------------------------------------------


def store_model_file(root: Path, version: str) -> Path:
    """Where the registry store keeps a version's model.txt (a local file store here)."""
    uri = client(root).get_model_version_download_uri(MODEL, version)
    return Path(uri.removeprefix("file://")) / "artifacts" / "bundle" / "model.txt"


@pytest.mark.slow
def test_a_version_refused_for_its_checksum_is_fetched_again_once_the_store_is_repaired(
    root: Path, tmp_path: Path
) -> None:
    bad = register(root, bundle_dir(root), "repair-src")  # registration verifies: tamper after
    stored = store_model_file(root, bad)
    good = stored.read_bytes()
    stored.write_bytes(good + b"\n")
    alias(root, "repair", "1")
    with served(root, "repair", "--poll-interval", "0.5") as (proc, port):
        alias(root, "repair", bad)
        wait_for(
            lambda: (get(port, "/version")[1].get("last_refused") or {}).get("kind") == "checksum",
            what="the checksum refusal",
        )
        stored.write_bytes(good)
        wait_for(
            lambda: get(port, "/version")[1]["model_version"] == bad,
            what="the repaired version to be served",
        )
        assert get(port, "/version")[1]["last_refused"] is None
    assert proc.returncode == 0


def with_new_required_column(good: Path, dest: Path) -> Path:
    """A copy of `good` whose schema requires one more input column (its sample sends it)."""
    shutil.copytree(good, dest)
    schema = json.loads((dest / "schema.json").read_text())
    schema["columns"]["loyalty_tier"] = {"dtype": "str", "nullable": False, "required": True}
    schema["input_columns"].append("loyalty_tier")
    (dest / "schema.json").write_text(json.dumps(schema))
    sample = json.loads((dest / "sample.json").read_text())
    sample["columns"].append("loyalty_tier")
    sample["data"] = [[*row, "gold"] for row in sample["data"]]
    (dest / "sample.json").write_text(json.dumps(sample))
    rehash(dest)
    return dest


def _schema(strict: bool = True, **columns: dict[str, Any]) -> Any:
    from mlplat.serving.validation import compile_schema

    base = {
        "plan": {"dtype": "str", "nullable": False},
        "age": {"dtype": "int", "nullable": True},
    }
    declared = {k: v for k, v in {**base, **columns}.items() if v}
    return compile_schema({"columns": declared, "strict": strict})


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        pytest.param(_schema(), [], id="same"),
        pytest.param(_schema(age={"dtype": "float", "nullable": True}), [], id="int-to-float"),
        pytest.param(
            _schema(tier={"dtype": "str", "nullable": False}),
            ["new required column 'tier'"],
            id="new-required-column",
        ),
        pytest.param(
            _schema(tier={"dtype": "str", "nullable": True, "required": False}),
            [],
            id="new-optional-column",
        ),
        pytest.param(
            _schema(plan={"dtype": "float", "nullable": False}),
            ["column 'plan' changed type from str to float"],
            id="changed-type",
        ),
        pytest.param(
            _schema(age={"dtype": "int", "nullable": False}),
            ["column 'age' no longer accepts null"],
            id="no-more-nulls",
        ),
        pytest.param(
            _schema(age={}),
            ["column 'age' is no longer accepted (the new schema is strict)"],
            id="removed-column-strict",
        ),
        pytest.param(_schema(strict=False, age={}), [], id="removed-column-lax"),
    ],
)
def test_schema_breaks(new: Any, expected: list[str]) -> None:
    from mlplat.serving.compat import schema_breaks

    assert schema_breaks(_schema(), new) == expected


@pytest.mark.slow
def test_an_unknown_schema_change_policy_exits_2_naming_the_key(root: Path) -> None:
    done = mlplat(
        "serve", "--model", str(bundle_dir(root)), "serving.schema_change=maybe", cwd=root
    )
    assert done.returncode == 2
    assert "serving.schema_change" in done.stderr and "'refuse', 'warn'" in done.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    "policy",
    [pytest.param("refuse", id="refused-by-default"), pytest.param("warn", id="warn-policy")],
)
def test_a_schema_that_breaks_clients(root: Path, tmp_path: Path, policy: str) -> None:
    changed = register(root, with_new_required_column(bundle_dir(root), tmp_path / "b"), "s-src")
    name = f"schema-{policy}"
    alias(root, name, "1")
    overrides = () if policy == "refuse" else ("serving.schema_change=warn",)
    with served(root, name, *NO_POLL, *overrides) as (proc, port):
        alias(root, name, changed)
        answer = reload(port)
        info = get(port, "/version")[1]
        accepted = metric(port, "mlplat_model_schema_changes_total")
        log = stopped(proc)
    if policy == "refuse":
        assert answer["outcome"] == "refused: schema" and info["model_version"] == "1", answer
        assert "new required column 'loyalty_tier'" in info["last_refused"]["reason"]
        assert accepted == 0.0
    else:
        assert answer["outcome"] == "swapped" and info["model_version"] == changed, answer
        assert accepted == 1.0
        assert "SCHEMA CHANGE accepted" in log and "new required column 'loyalty_tier'" in log


@pytest.mark.slow
def test_a_deleted_version_makes_ready_say_so(root: Path) -> None:
    doomed = register(root, bundle_dir(root), "doomed")
    with served(root, "doomed", *NO_POLL) as (proc, port):
        client(root).delete_model_version(MODEL, doomed)
        assert reload(port)["outcome"] == "gone"
        status, body = get(port, "/ready")
        assert status == 503 and "no longer resolves" in body["reason"], body
        assert metric(port, "mlplat_model_ready") == 0.0
        alias(root, "doomed", "1")  # pointed at a version that exists again
        assert reload(port)["outcome"] == "swapped"
        assert get(port, "/ready") == (200, {"ready": True, "model_version": "1"})
    assert proc.returncode == 0


@pytest.mark.slow
def test_concurrent_reloads_swap_once(root: Path) -> None:
    other = register(root, bundle_dir(root), "conc-src")
    alias(root, "conc", "1")
    with served(root, "conc", *NO_POLL) as (proc, port):
        alias(root, "conc", other)
        outcomes: list[str] = []
        threads = [
            threading.Thread(target=lambda: outcomes.append(reload(port)["outcome"]))
            for _ in range(5)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        info = get(port, "/version")[1]
        swaps = metric(port, "mlplat_model_reloads_total")
    assert sorted(outcomes) == ["swapped"] + ["unchanged"] * 4, outcomes
    assert info["model_version"] == other and info["reloads"] == 2 and swaps == 2.0
    assert proc.returncode == 0


@pytest.mark.slow
@pytest.mark.parametrize(
    "stop", [pytest.param(signal.SIGTERM, id="sigterm"), pytest.param(signal.SIGINT, id="sigint")]
)
def test_no_download_is_left_behind_on_exit(
    root: Path, tmp_path: Path, stop: signal.Signals
) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    other = register(root, bundle_dir(root), "tmp-src")
    name = f"tmp-{stop.name.lower()}"
    alias(root, name, "1")
    with served(root, name, *NO_POLL, env={"TMPDIR": str(temp)}) as (proc, port):
        alias(root, name, other)
        assert reload(port)["outcome"] == "swapped"
        assert len(list(temp.glob("mlplat-serve-*/*"))) == 2  # both versions were downloaded
        log = stopped(proc, stop)
    assert proc.returncode in (0, 128 + stop, -stop), log
    assert list(temp.glob("mlplat-serve-*")) == [], log


# -- item 7 (serve): an unreachable tracking store ------------------------------------------


def test_an_unreachable_tracking_store_fails_within_seconds(tmp_path: Path) -> None:
    uri = "http://mlplat:pa55word@127.0.0.1:9"
    started = time.monotonic()
    done = mlplat(
        "serve",
        "--model",
        f"models:/{MODEL}@champion",
        "--port",
        str(free_port()),
        cwd=tmp_path,
        env={"MLFLOW_TRACKING_URI": uri},
        timeout=120,
    )
    seconds = time.monotonic() - started
    error = " ".join(done.stderr.split())
    assert done.returncode == 1, error
    assert seconds < 30, f"took {seconds:.1f} s"  # measured: docs/reliability.md
    assert "in the tracking store http://***@127.0.0.1:9" in error, error
    assert "pa55word" not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
