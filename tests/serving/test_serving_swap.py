"""Zero-downtime updates under load from a second process, a refused bad version, request logs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import mlplat
from tests.serving_support import (
    MODEL,
    bundle_dir,
    client,
    env_for,
    register,
    request,
    running_server,
    sample_split,
    trained_project,
)

POLL = 1.0
LOAD_SECONDS = 2.5
TOKEN = "s3cret-for-tests"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two registered versions; @champion on the first."""
    root = trained_project(tmp_path_factory.mktemp("swap") / "proj")
    register(root, bundle_dir(root), "next")  # version 2: same bundle, new registry version
    client(root).set_registered_model_alias(MODEL, "champion", "1")
    return root


def register_tampered(root: Path) -> str:
    """Version 3: registered, then its model file changed in the artifact store (no longer the
    sha256 its manifest lists)."""
    version = register(root, bundle_dir(root), "tampered")
    model_id = client(root).get_model_version(MODEL, version).source.removeprefix("models:/")
    stored = client(root).get_logged_model(model_id).artifact_location.removeprefix("file://")
    with (Path(stored) / "artifacts" / "bundle" / "model.txt").open("a") as handle:
        handle.write("\n")
    return version


@pytest.mark.slow
def test_swap_under_load_then_refuse_a_bad_version(root: Path, tmp_path: Path) -> None:
    payload, out, logs = tmp_path / "one.json", tmp_path / "bench.json", tmp_path / "requests"
    payload.write_text(json.dumps({"dataframe_split": sample_split(root)}))
    model = f"models:/{MODEL}@champion"
    args = ("--model", model, "--poll-interval", str(POLL), "--request-log-dir", str(logs))
    with running_server(root, *args, env={"MLPLAT_ADMIN_TOKEN": TOKEN}) as (proc, port):
        assert json.loads(request(port, "GET", "/version")[2])["model_version"] == "1"
        bench = mlplat(
            "bench",
            "--url",
            f"http://127.0.0.1:{port}/invocations",
            "--payload",
            str(payload),
            "--concurrency",
            "4",
            "--duration",
            "6",
            "--model",
            model,
            "--swap",
            "2",
            "--output",
            str(out),
            cwd=root,
        )
        assert bench.returncode == 0, bench.stdout + bench.stderr
        result = json.loads(out.read_text())
        assert result["errors"] == 0 and result["swap_failed_requests"] == 0
        assert set(result["versions"]) == {"1", "2"}, result  # every response names its version
        # One poll interval + the load itself, which includes the probe: a child process that
        # parses the model first (0.5 s on an idle machine, docs/benchmarks.md; more under load).
        assert result["swap_seconds"] <= POLL + LOAD_SECONDS, result
        assert (
            "bench.qps"
            in client(root).get_run(client(root).get_model_version(MODEL, "2").run_id).data.metrics
        )
        # the swap went through the one alias mover: it is in the model's alias history
        history = mlplat("registry", "history", MODEL, "--json", cwd=root)
        [swapped] = [e for e in json.loads(history.stdout)["events"] if e["action"] == "bench-swap"]
        assert (swapped["alias"], swapped["version"], swapped["previous"]) == ("champion", "2", "1")

        bad = register_tampered(root)
        client(root).set_registered_model_alias(MODEL, "champion", bad)
        assert request(port, "POST", "/admin/reload")[0] in (401, 403)
        status, _, body = request(
            port, "POST", "/admin/reload", b"", {"Authorization": f"Bearer {TOKEN}"}
        )
        answer = json.loads(body)
        assert status == 200 and answer["outcome"] == "refused: checksum", answer
        info = json.loads(request(port, "GET", "/version")[2])
        assert info["model_version"] == "2" and info["last_refused"]["version"] == bad
        metrics = request(port, "GET", "/metrics")[2].decode()
        assert 'mlplat_model_reload_failures_total{reason="checksum"} 1.0' in metrics
        assert (
            request(
                port,
                "POST",
                "/invocations",
                payload.read_bytes(),
                {"Content-Type": "application/json"},
            )[0]
            == 200
        )
    assert proc.returncode == 0
    assert_request_log(logs, result["requests"] + 1)


def assert_request_log(logs: Path, requests: int) -> None:
    """Every scored request was logged (sample 1.0, no drops), in complete .jsonl files."""
    files = sorted(logs.glob("*.jsonl"))
    assert files and not list(logs.glob("*.part"))
    lines = [json.loads(line) for f in files for line in f.read_text().splitlines()]
    assert len(lines) == requests
    assert {line["model_version"] for line in lines} == {"1", "2"}
    assert set(lines[0]["inputs"]) >= {"plan", "region", "signup_date"}
    assert lines[0]["rows"] == len(lines[0]["predictions"]) == len(lines[0]["inputs"]["plan"])
    assert all(0.0 <= p <= 1.0 for p in lines[0]["predictions"])


def test_bench_refuses_non_loopback_targets(tmp_path: Path) -> None:
    payload = tmp_path / "p.json"
    payload.write_text("{}")
    done = mlplat(
        "bench",
        "--url",
        "http://example.com/invocations",
        "--payload",
        str(payload),
        "--duration",
        "1",
        cwd=tmp_path,
        env=env_for(tmp_path),
    )
    assert done.returncode == 2 and "loopback" in done.stderr
