"""Manifests as pure functions of conf/deploy and a version's facts: golden files, strict
validation of every kind (built-ins offline, the InferenceService against KServe's CRD schema),
sizing from the profile, and the declarations that are refused."""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
from functools import cache
from typing import Any

import pytest
import yaml

from mlplat.core.config.deploy import AutoscalingConfig, DeployConfig, ResourcesConfig, check
from mlplat.core.config.online import OnlineConfig
from mlplat.core.errors import ConfigError
from mlplat.core.vocabulary import DeployTarget
from mlplat.ops import deploy, kserve, manifests
from mlplat.ops.manifests import ModelFacts, Profile
from tests.conftest import REPO

GOLDEN = REPO / "tests" / "golden" / "deploy"
REGENERATE = (
    "MLPLAT_REGENERATE_GOLDEN=1 .venv/bin/python -m pytest"
    " tests/ops/test_deploy_manifests.py -k golden"
)
KSERVE_SCHEMA = REPO.parent / "shared" / "schemas" / "kserve" / "inferenceservice_v1beta1.json"
IMAGE = "registry.example.com/churn@sha256:" + "ab" * 32
FACTS = ModelFacts(
    name="telco-churn-lgbm",
    version="7",
    run_id="0123456789abcdef0123456789abcdef",
    git_sha="0123abc",
    image=IMAGE,
    profile=Profile(workers=3, cpu=3.0, memory_mb=1152, peak_rss_mb=280.4),
)


def rendered(target: DeployTarget, cfg: DeployConfig) -> dict[str, str]:
    built = kserve_or_kubernetes(target, cfg)
    return {
        deploy.file_name(m): deploy.to_yaml(m, target, "models:/telco-churn-lgbm/7") for m in built
    }


def kserve_or_kubernetes(target: DeployTarget, cfg: DeployConfig) -> list[dict[str, Any]]:
    if target == DeployTarget.KSERVE:
        return [kserve.inference_service(cfg, FACTS)]
    return manifests.kubernetes(cfg, FACTS)


@cache
def kserve_validator() -> Any:
    import jsonschema

    schema = json.loads(KSERVE_SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def kserve_errors(manifest: dict[str, Any]) -> list[str]:
    return [e.message for e in kserve_validator().iter_errors(manifest)]


@pytest.mark.parametrize(
    ("target", "cfg"),
    [
        pytest.param(DeployTarget.KUBERNETES, DeployConfig(), id="kubernetes"),
        pytest.param(DeployTarget.KSERVE, DeployConfig(), id="kserve-raw"),
        pytest.param(DeployTarget.KSERVE, DeployConfig(mode="serverless"), id="kserve-serverless"),
    ],
)
def test_manifests_match_golden(target: DeployTarget, cfg: DeployConfig, request: Any) -> None:
    folder = GOLDEN / request.node.callspec.id
    for name, text in rendered(target, cfg).items():
        path = folder / name
        if os.environ.get("MLPLAT_REGENERATE_GOLDEN") == "1":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        expected = path.read_text(encoding="utf-8") if path.is_file() else ""
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(True), text.splitlines(True), f"golden/{name}", "rendered"
            )
        )
        assert not diff, f"{name} changed; if intended, regenerate with:\n  {REGENERATE}\n{diff}"


@pytest.mark.parametrize("version", ["1.29", "1.30", "1.33"])
def test_every_built_in_kind_is_strictly_valid(version: str) -> None:
    built = manifests.kubernetes(DeployConfig(), FACTS)
    assert [m["kind"] for m in built] == [
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
    ]
    assert all(deploy.validate(m, version) for m in built)


def test_strict_validation_refuses_an_unknown_field() -> None:
    manifest = manifests.kubernetes(DeployConfig(), FACTS)[0]
    manifest["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    with pytest.raises(deploy.ManifestValidationError, match="livenessProbes"):
        deploy.validate(manifest, "1.30")


def test_an_unsupported_kubernetes_version_names_the_key() -> None:
    with pytest.raises(ConfigError) as caught:
        deploy.validate(manifests.kubernetes(DeployConfig(), FACTS)[1], "1.99")
    assert caught.value.key == "deploy.kubernetes_version"


@pytest.mark.parametrize(
    "cfg",
    [
        pytest.param(DeployConfig(), id="raw-hpa"),
        pytest.param(DeployConfig(autoscaler_class="keda"), id="raw-keda"),
        pytest.param(
            DeployConfig(
                autoscaler_class="keda",
                autoscaling=AutoscalingConfig(target_requests_per_second=50),
            ),
            id="raw-keda-rps",
        ),
        pytest.param(DeployConfig(mode="serverless"), id="serverless"),
        pytest.param(DeployConfig(request_log=False), id="no-request-log"),
    ],
)
def test_inference_service_is_valid_against_the_kserve_crd(cfg: DeployConfig) -> None:
    manifest = kserve.inference_service(cfg, FACTS)
    assert kserve_errors(manifest) == []
    assert kserve_errors({**manifest, "spec": {"predictor": {"containerz": []}}}), (
        "the CRD schema must refuse unknown fields, or this test proves nothing"
    )


def test_kserve_and_kubernetes_share_the_container() -> None:
    pod = manifests.kubernetes(DeployConfig(), FACTS)[0]["spec"]["template"]["spec"]
    predictor = kserve.inference_service(DeployConfig(), FACTS)["spec"]["predictor"]
    plain, ours = pod["containers"][0], predictor["containers"][0]
    for key in ("image", "args", "resources", "livenessProbe", "readinessProbe", "lifecycle"):
        assert plain[key] == ours[key], key
    assert pod["terminationGracePeriodSeconds"] == predictor["terminationGracePeriodSeconds"]
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (3, 4)


def test_resources_come_from_the_profile_per_worker() -> None:
    size = manifests.sizing(DeployConfig(), FACTS.profile)
    assert (size.cpu, size.memory_mb, size.min_replicas) == (1.0, 384, 3)
    declared = DeployConfig(resources=ResourcesConfig(cpu=0.5, memory_mb=512))
    hpa = manifests.kubernetes(declared, FACTS)[2]
    container = manifests.kubernetes(declared, FACTS)[0]["spec"]["template"]["spec"]
    assert container["containers"][0]["resources"]["requests"] == {"cpu": "500m", "memory": "512Mi"}
    assert hpa["spec"]["minReplicas"] == 3


def test_requests_per_second_scales_through_a_pods_metric() -> None:
    cfg = DeployConfig(autoscaling=AutoscalingConfig(target_requests_per_second=40))
    metric = manifests.kubernetes(cfg, FACTS)[2]["spec"]["metrics"]
    assert metric == [
        {
            "type": "Pods",
            "pods": {
                "metric": {"name": "mlplat_requests_per_second"},
                "target": {"type": "AverageValue", "averageValue": "40"},
            },
        }
    ]


def test_drain_matches_the_server() -> None:
    from mlplat.serving.server import GRACEFUL_SECONDS

    pod = manifests.kubernetes(DeployConfig(pre_stop_seconds=7), FACTS)[0]["spec"]["template"]
    assert pod["spec"]["terminationGracePeriodSeconds"] > 7 + GRACEFUL_SECONDS
    hook = pod["spec"]["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
    assert hook[-1] == "import time; time.sleep(7)"


def no_profile(**resources: Any) -> DeployConfig:
    return DeployConfig(resources=ResourcesConfig(**resources))


@pytest.mark.parametrize(
    ("cfg", "facts", "key"),
    [
        pytest.param(
            no_profile(memory_mb=200), FACTS, "deploy.resources.memory_mb", id="below-peak"
        ),
        pytest.param(
            DeployConfig(),
            dataclasses.replace(FACTS, profile=None),
            "deploy.resources.cpu",
            id="never-profiled",
        ),
        pytest.param(
            DeployConfig(autoscaling=AutoscalingConfig(max_replicas=2)),
            FACTS,
            "deploy.autoscaling.max_replicas",
            id="profile-needs-more-pods",
        ),
        pytest.param(
            DeployConfig(name="Telco_Churn"), FACTS, "deploy.name", id="not-a-kubernetes-name"
        ),
    ],
)
def test_bad_declarations_name_the_key(cfg: DeployConfig, facts: ModelFacts, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        manifests.kubernetes(cfg, facts)
    assert caught.value.key == key


def test_kserve_hpa_cannot_scale_on_requests() -> None:
    cfg = DeployConfig(autoscaling=AutoscalingConfig(target_requests_per_second=40))
    with pytest.raises(ConfigError) as caught:
        kserve.inference_service(cfg, FACTS)
    assert caught.value.key == "deploy.autoscaling.target_requests_per_second"


@pytest.mark.parametrize(
    ("cfg", "key"),
    [
        pytest.param(DeployConfig(mode="knative"), "deploy.mode", id="mode"),
        pytest.param(DeployConfig(autoscaler_class="kpa"), "deploy.autoscaler_class", id="class"),
        pytest.param(
            DeployConfig(kubernetes_version="latest"), "deploy.kubernetes_version", id="version"
        ),
        pytest.param(
            DeployConfig(autoscaling=AutoscalingConfig(min_replicas=5, max_replicas=2)),
            "deploy.autoscaling.max_replicas",
            id="max-below-min",
        ),
    ],
)
def test_the_boundary_refuses_bad_deploy_config(cfg: DeployConfig, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check(cfg)
    assert caught.value.key == key


@pytest.mark.parametrize(
    "image",
    ["registry.example.com/churn:7", "churn@sha256:abc", "churn@sha512:" + "a" * 64],
)
def test_an_image_without_a_digest_is_refused(image: str) -> None:
    with pytest.raises(ConfigError) as caught:
        deploy.image_of({}, image, "models:/telco-churn-lgbm/7")
    assert caught.value.key == "--image"


def test_the_recorded_image_is_pinned_by_its_digest() -> None:
    digest = "sha256:" + "cd" * 32
    tags = {"mlplat.image.tag": "mlplat/telco-churn-lgbm:7", "mlplat.image.digest": digest}
    assert deploy.image_of(tags, None, "m") == f"mlplat/telco-churn-lgbm@{digest}"
    with pytest.raises(ConfigError, match="mlplat image build"):
        deploy.image_of({}, None, "models:/telco-churn-lgbm/7")


def test_files_are_plain_yaml_with_a_header() -> None:
    for text in rendered(DeployTarget.KUBERNETES, DeployConfig()).values():
        assert text.startswith("# Generated by `mlplat deploy render")
        assert "&id" not in text and "*id" not in text
        assert yaml.safe_load(text)["metadata"]["labels"]["mlplat.io/model-version"] == "7"


@pytest.mark.parametrize(
    ("online", "percent"),
    [
        pytest.param(OnlineConfig(), None, id="off"),
        pytest.param(OnlineConfig(mode="shadow"), None, id="shadow"),
        pytest.param(OnlineConfig(mode="split", split=0.2), 20, id="split"),
        pytest.param(OnlineConfig(mode="canary", ramp=[0.05, 0.5, 1.0]), 5, id="canary"),
    ],
)
def test_an_online_experiment_becomes_canary_traffic(
    online: OnlineConfig, percent: int | None
) -> None:
    cfg = DeployConfig(mode="serverless")
    predictor = kserve.inference_service(cfg, FACTS, online)["spec"]["predictor"]
    assert predictor.get("canaryTrafficPercent") == percent
    assert kserve_errors(kserve.inference_service(cfg, FACTS, online)) == []


def test_raw_mode_warns_that_kserve_ignores_the_canary() -> None:
    from mlplat.core.config import PlatformConfig

    cfg = PlatformConfig()
    cfg.online.mode = "canary"
    (line,) = deploy.warnings(DeployTarget.KSERVE, cfg)
    assert "ignores it in raw mode" in line
    cfg.deploy.mode = "serverless"
    assert not any("ignores" in w for w in deploy.warnings(DeployTarget.KSERVE, cfg))


def test_a_service_monitor_scrapes_the_service_when_declared() -> None:
    built = manifests.kubernetes(DeployConfig(service_monitor=True), FACTS)
    monitor, svc = built[-1], built[1]
    assert monitor["kind"] == "ServiceMonitor"
    assert monitor["spec"]["endpoints"] == [{"port": "http", "path": "/metrics"}]
    selected = monitor["spec"]["selector"]["matchLabels"].items()
    assert selected <= svc["metadata"]["labels"].items()
    assert svc["spec"]["ports"][0]["name"] == "http"
    assert not deploy.validate(monitor, "1.30"), "a custom resource: no bundled schema"
