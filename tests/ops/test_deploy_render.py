"""`mlplat deploy render` on a real registered, profiled version: files written and checked,
stale detection against config and registry, the rendered server command and probes against a
real server, and the errors that name their key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlplat.image.dockerfile import MODEL_DIR, PORT
from mlplat.image.source import TAG_PREFIX
from tests.conftest import make_project, mlplat, tracking_uri
from tests.serving_support import bundle_dir, request, running_server

MODEL = "telco-churn-lgbm"
URI = f"models:/{MODEL}@challenger"
IMAGE = "registry.example.com/churn@sha256:" + "ab" * 32
PROFILE = ["profile", "--model", URI, "--data", "data/churn.csv", "--seconds", "0.05"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One registered version, profiled, as `mlplat run` and `mlplat profile` leave it."""
    root = make_project(tmp_path_factory.mktemp("deploy") / "proj", rows=1500)
    overrides = ["segments=none", "model.num_boost_round=10", "gates.fail_exit=false"]
    done = mlplat("run", "+experiment=churn_baseline", *overrides, cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]
    done = mlplat(*PROFILE, cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]
    yield root


def render(root: Path, output: Path, *extra: str) -> Any:
    return mlplat(
        "deploy",
        "render",
        "--model",
        URI,
        "--target",
        "kubernetes",
        "--output",
        str(output),
        "--image",
        IMAGE,
        *extra,
        cwd=root,
    )


def load(path: Path) -> dict[str, Any]:
    found = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(found, dict)
    return found


@pytest.mark.slow
def test_render_writes_validated_files_and_check_keeps_them_honest(
    trained: Path, tmp_path: Path
) -> None:
    out = tmp_path / "k8s"
    done = render(trained, out, "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["model"] == f"models:/{MODEL}/1" and result["image"] == IMAGE
    assert {f["file"]: f["validated"] for f in result["files"]} == {
        name: "kubernetes 1.30"
        for name in (
            "deployment.yaml",
            "service.yaml",
            "horizontalpodautoscaler.yaml",
            "poddisruptionbudget.yaml",
        )
    }
    assert sorted(p.name for p in out.iterdir()) == sorted(f["file"] for f in result["files"])
    assert render(trained, out, "--check").returncode == 0

    before = (out / "deployment.yaml").read_text()
    stale = render(trained, out, "--check", "deploy.pre_stop_seconds=9")
    assert stale.returncode == 1, stale.stderr
    assert "stale" in stale.stderr and "deployment.yaml" in stale.stderr
    assert (out / "deployment.yaml").read_text() == before, "--check must write nothing"

    (out / "service.yaml").unlink()
    assert render(trained, out, "--check").returncode == 1


@pytest.mark.slow
def test_resources_follow_a_changed_profile(trained: Path, tmp_path: Path) -> None:
    """A new `mlplat profile` on the version (logged the way the command logs it) makes the
    committed manifests stale, and a re-render carries the new memory."""
    from mlflow import MlflowClient

    from mlplat.ops.sizing import BatchLatency, DeploymentProfile, Recommendation, log

    out = tmp_path / "k8s"
    assert render(trained, out).returncode == 0
    client = MlflowClient(tracking_uri(trained))
    run_id = client.get_model_version_by_alias(MODEL, "challenger").run_id
    found = json.loads(
        Path(client.download_artifacts(run_id, "profile/deployment.json")).read_text()
    )
    report = DeploymentProfile(
        **found
        | {
            "batches": tuple(BatchLatency(**b) for b in found["batches"]),
            "peak_rss_mb": 900.0,
            "recommendation": Recommendation(**found["recommendation"] | {"memory_mb": 1152}),
        }
    )
    assert log(report, tracking_uri(trained))

    assert render(trained, out, "--check").returncode == 1
    assert render(trained, out).returncode == 0
    container = load(out / "deployment.yaml")["spec"]["template"]["spec"]["containers"][0]
    workers = report.recommendation.workers
    assert container["resources"]["requests"]["memory"] == f"{1152 // workers}Mi"
    low = render(trained, out, "deploy.resources.memory_mb=512")
    assert low.returncode == 2 and "key 'deploy.resources.memory_mb'" in low.stderr


@pytest.mark.slow
def test_probes_and_command_match_the_real_server(trained: Path, tmp_path: Path) -> None:
    """The rendered args start the real server (with the bundle in place of the image's
    /opt/model, on a free loopback port), and every probed or scraped path answers 200."""
    out = tmp_path / "k8s"
    assert render(trained, out).returncode == 0
    pod = load(out / "deployment.yaml")["spec"]["template"]
    container = pod["spec"]["containers"][0]
    assert container["ports"][0]["containerPort"] == PORT
    args = container["args"]
    assert args[:2] == ["mlplat", "serve"] and args[args.index("--port") + 1] == str(PORT)
    swap = {
        MODEL_DIR: str(bundle_dir(trained)),
        "0.0.0.0": "127.0.0.1",
        container["volumeMounts"][1]["mountPath"]: str(tmp_path / "requests"),
    }
    local = [swap.get(a, a) for a in args[2:]]
    at = local.index("--port")
    del local[at : at + 2]  # running_server passes a free loopback port instead of 8080
    paths = [
        container["livenessProbe"]["httpGet"]["path"],
        container["readinessProbe"]["httpGet"]["path"],
        pod["metadata"]["annotations"]["prometheus.io/path"],
    ]
    assert paths == ["/health", "/ready", "/metrics"]
    with running_server(trained, *local) as (_, port):
        assert [request(port, "GET", path)[0] for path in paths] == [200, 200, 200]


@pytest.mark.slow
def test_kserve_target_is_valid_against_its_crd(trained: Path, tmp_path: Path) -> None:
    import jsonschema

    from tests.ops.test_deploy_manifests import KSERVE_SCHEMA

    out = tmp_path / "kserve"
    done = mlplat(
        "deploy",
        "render",
        "--model",
        URI,
        "--target",
        "kserve",
        "--output",
        str(out),
        "--image",
        IMAGE,
        "deploy.mode=serverless",
        "--json",
        cwd=trained,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["files"][0]["validated"] == "no (custom resource)"
    assert result["warnings"], "serverless mode says Knative drains the pod"
    schema = json.loads(KSERVE_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(load(out / "inferenceservice.yaml"), schema)


@pytest.mark.slow
def test_the_image_build_recorded_is_the_default(trained: Path, tmp_path: Path) -> None:
    from mlflow import MlflowClient

    args = ["deploy", "render", "--model", URI, "--target", "kubernetes"]
    missing = mlplat(*args, "--output", str(tmp_path / "a"), cwd=trained)
    assert missing.returncode == 2 and "key '--image'" in missing.stderr
    assert "mlplat image build" in missing.stderr
    digest = "sha256:" + "cd" * 32
    client = MlflowClient(tracking_uri(trained))
    client.set_model_version_tag(MODEL, "1", f"{TAG_PREFIX}.tag", f"mlplat/{MODEL}:1")
    client.set_model_version_tag(MODEL, "1", f"{TAG_PREFIX}.digest", digest)
    done = mlplat(*args, "--output", str(tmp_path / "b"), "--json", cwd=trained)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["image"] == f"mlplat/{MODEL}@{digest}"


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        pytest.param(["--target", "nomad"], "key '--target'", id="bad-target"),
        pytest.param(
            ["--target", "kubernetes", "--image", "churn:1"], "key '--image'", id="tag-only"
        ),
        pytest.param(
            ["--target", "kubernetes", "--image", IMAGE, "deploy.mode=knative"],
            "key 'deploy.mode'",
            id="bad-mode",
        ),
        pytest.param(
            ["--target", "kubernetes", "--image", IMAGE, "deploy.autoscaling.min_replicas=9"],
            "key 'deploy.autoscaling.max_replicas'",
            id="max-below-min",
        ),
    ],
)
@pytest.mark.slow
def test_bad_usage_exits_2_naming_the_key(
    trained: Path, tmp_path: Path, extra: list[str], needle: str
) -> None:
    done = mlplat(
        "deploy", "render", "--model", URI, "--output", str(tmp_path), *extra, cwd=trained
    )
    assert done.returncode == 2, done.stderr[-3000:]
    assert needle in done.stderr and "Traceback" not in done.stderr
    assert not any(tmp_path.iterdir()), "nothing is written when the declaration is refused"
