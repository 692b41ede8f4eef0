"""KServe's `InferenceService` of a model version: the same container, probes and resources as
the plain Kubernetes manifests, in KServe's custom-container predictor (pure, returns a dict).

Raw mode is a Deployment + autoscaler that KServe manages (HPA: cpu or memory; KEDA: also
rps); serverless mode is Knative, which scales on concurrency or rps, drains by itself and
refuses container lifecycle hooks, so the preStop and grace period are left to it.

A split or canary declared in conf/online becomes `canaryTrafficPercent`: KServe sends that
share to the revision being rendered (the challenger) and the rest to the previous ready one
(the champion), the split mlplat's own server makes between the two aliases. KServe ignores it
in raw mode, and has no shadow traffic.
"""

from __future__ import annotations

from typing import Any

from mlplat.core.config.deploy import DeployConfig
from mlplat.core.config.online import OnlineConfig
from mlplat.core.errors import ConfigError
from mlplat.core.vocabulary import AutoscalerClass, KServeMode, OnlineMode
from mlplat.ops import manifests
from mlplat.ops.manifests import ModelFacts, Sizing

MODES = {KServeMode.RAW: "RawDeployment", KServeMode.SERVERLESS: "Serverless"}
CONTAINER = "kserve-container"  # the name KServe gives a custom predictor's container
PORT_NAME = "http1"  # Knative accepts only http1 or h2c


def scale(deploy: DeployConfig) -> dict[str, Any]:
    rps = deploy.autoscaling.target_requests_per_second
    raw_hpa = deploy.mode == KServeMode.RAW and deploy.autoscaler_class == AutoscalerClass.HPA
    if rps is not None and raw_hpa:
        raise ConfigError(
            "KServe's HPA autoscaler scales on cpu or memory only; scale on requests per "
            "second with deploy.autoscaler_class=keda or deploy.mode=serverless",
            key="deploy.autoscaling.target_requests_per_second",
        )
    if rps is not None:
        return {"scaleMetric": "rps", "scaleTarget": rps}
    return {"scaleMetric": "cpu", "scaleTarget": deploy.autoscaling.target_cpu_percent}


def canary_percent(online: OnlineConfig) -> int | None:
    """The challenger's share of traffic: a split's fixed share, a canary's first ramp step
    (`mlplat online decide` advances the ramp; re-render to move KServe's split with it)."""
    if online.mode == OnlineMode.SPLIT:
        return round(online.split * 100)
    if online.mode == OnlineMode.CANARY:
        return round(online.ramp[0] * 100)
    return None


def kserve_annotations(deploy: DeployConfig, facts: ModelFacts) -> dict[str, str]:
    found = {"serving.kserve.io/deploymentMode": MODES[KServeMode(deploy.mode)]}
    if deploy.mode == KServeMode.RAW:
        found["serving.kserve.io/autoscalerClass"] = deploy.autoscaler_class
    return {**found, **manifests.identity(facts), "mlplat.io/image": facts.image}


def predictor(
    deploy: DeployConfig, facts: ModelFacts, size: Sizing, canary: int | None
) -> dict[str, Any]:
    server = manifests.container(deploy, facts, size, CONTAINER, PORT_NAME)
    spec: dict[str, Any] = {
        "minReplicas": size.min_replicas,
        "maxReplicas": size.max_replicas,
        **scale(deploy),
        "automountServiceAccountToken": False,
        "securityContext": manifests.pod_security(),
        "containers": [server],
        "volumes": manifests.volumes(deploy),
    }
    if canary is not None:
        spec["canaryTrafficPercent"] = canary
    if deploy.mode == KServeMode.RAW:
        server["lifecycle"] = manifests.pre_stop(deploy)
        spec["terminationGracePeriodSeconds"] = manifests.grace_seconds(deploy)
    return spec


def inference_service(
    deploy: DeployConfig, facts: ModelFacts, online: OnlineConfig | None = None
) -> dict[str, Any]:
    name = manifests.workload_name(deploy, facts)
    size = manifests.sizing(deploy, facts.profile)
    meta = manifests.metadata(name, deploy, facts)
    meta["annotations"] = {**kserve_annotations(deploy, facts), **manifests.scrape_annotations()}
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": meta,
        "spec": {
            "predictor": predictor(deploy, facts, size, canary_percent(online or OnlineConfig()))
        },
    }
