"""Kubernetes manifests of a model version, as plain dicts: pure, from config and facts.

Everything the manifests say about the server comes from the server and its image (port, user,
probe routes, drain time, command) and everything about the model from its registry version
(image digest, identity, the `mlplat profile` sizing), so a rendered file changes when they do
and `mlplat deploy render --check` notices. Only `deploy.*` is declared by the team.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from mlplat.core.config.deploy import DeployConfig
from mlplat.core.errors import ConfigError
from mlplat.image.dockerfile import PORT, UID, VENV, serve_command
from mlplat.serving.server import GRACEFUL_SECONDS, HEALTH_PATH, METRICS_PATH, READY_PATH

EXIT_MARGIN_SECONDS = 5  # after the drain: shutdown hooks and interpreter exit
REQUEST_LOG_DIR = "/var/log/mlplat/requests"
RPS_METRIC = "mlplat_requests_per_second"  # a per-pod rate of mlplat_requests_total
DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class Profile:
    """What `mlplat profile` logged on the version's run (recommendation for serving.slo)."""

    workers: int
    cpu: float
    memory_mb: int
    peak_rss_mb: float


@dataclass(frozen=True)
class ModelFacts:
    """What the registry knows about the version being deployed."""

    name: str
    version: str
    run_id: str
    git_sha: str
    image: str  # pinned by digest
    profile: Profile | None  # None: never profiled


@dataclass(frozen=True)
class Sizing:
    """Per pod (one server worker each), and the replicas to keep at least."""

    cpu: float
    memory_mb: int
    min_replicas: int
    max_replicas: int


def sizing(deploy: DeployConfig, profile: Profile | None) -> Sizing:
    """Declared resources win; else the profile's, per worker. Memory below the profiled peak
    would be OOM-killed under load, so it is refused."""
    declared = deploy.resources
    if profile is None and (declared.cpu is None or declared.memory_mb is None):
        missing = "cpu" if declared.cpu is None else "memory_mb"
        raise ConfigError(
            "the model version was never profiled: run `mlplat profile --model ... --data ...` "
            "or declare deploy.resources.cpu and deploy.resources.memory_mb",
            key=f"deploy.resources.{missing}",
        )
    peak = profile.peak_rss_mb if profile else 0.0
    if declared.memory_mb is not None and declared.memory_mb < peak:
        raise ConfigError(
            f"{declared.memory_mb} MB is below the profiled peak memory of "
            f"{peak:.0f} MB per worker",
            key="deploy.resources.memory_mb",
        )
    if profile is None:
        cpu, memory, least = declared.cpu or 1.0, declared.memory_mb or 0, 1
    else:  # the recommendation is for `workers` workers; a pod runs one
        workers = max(profile.workers, 1)
        cpu = declared.cpu or profile.cpu / workers
        memory = declared.memory_mb or math.ceil(profile.memory_mb / workers)
        least = workers
    scaling = deploy.autoscaling
    least = scaling.min_replicas or least
    if least > scaling.max_replicas:
        raise ConfigError(
            f"max_replicas {scaling.max_replicas} is below the {least} pods the profile "
            "recommends for serving.slo.min_qps",
            key="deploy.autoscaling.max_replicas",
        )
    return Sizing(cpu, memory, least, scaling.max_replicas)


def check_image(image: str, key: str) -> str:
    if not DIGEST.search(image):
        raise ConfigError(
            f"'{image}' is not pinned by digest (REPOSITORY@sha256:<64 hex>)", key=key
        )
    return image


def workload_name(deploy: DeployConfig, facts: ModelFacts) -> str:
    name = deploy.name or facts.name
    if not DNS_LABEL.match(name):
        raise ConfigError(
            f"'{name}' is not a Kubernetes name (lower case letters, digits and '-', at most "
            "63, starting with a letter); set deploy.name",
            key="deploy.name",
        )
    return name


def selector(name: str) -> dict[str, str]:
    """Stable across versions: a Deployment's selector cannot change after it is created."""
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "predictor"}


def identity(facts: ModelFacts) -> dict[str, str]:
    return {
        "mlplat.io/model-name": facts.name,
        "mlplat.io/model-version": facts.version,
        "mlplat.io/run-id": facts.run_id,
        "mlplat.io/git-sha": facts.git_sha,
    }


def labels(name: str, facts: ModelFacts) -> dict[str, str]:
    """`kubectl get -L mlplat.io/model-version` shows what runs; a value a label cannot hold
    (too long, odd characters) stays in the annotations only."""
    fits = {k: v for k, v in identity(facts).items() if LABEL_VALUE.match(v)}
    return {
        **selector(name),
        "app.kubernetes.io/version": fits.get("mlplat.io/model-version", "unknown"),
        "app.kubernetes.io/managed-by": "mlplat",
        **fits,
    }


def metadata(name: str, deploy: DeployConfig, facts: ModelFacts) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": deploy.namespace,
        "labels": labels(name, facts),
        "annotations": {**identity(facts), "mlplat.io/image": facts.image},
    }


def quantity(value: float) -> str:
    """A Kubernetes quantity: whole numbers as they are, fractions in milli-units."""
    return str(int(value)) if float(value).is_integer() else f"{round(value * 1000)}m"


def probe(path: str, port: int | str, period: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": port},
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": 3,
    }


def container(
    deploy: DeployConfig, facts: ModelFacts, size: Sizing, name: str, port_name: str
) -> dict[str, Any]:
    """The server as its image runs it, one worker per pod (the autoscaler adds pods)."""
    args = serve_command(workers=1)
    mounts = [{"name": "tmp", "mountPath": "/tmp"}]
    if deploy.request_log:
        args += ["--request-log-dir", REQUEST_LOG_DIR]
        mounts.append({"name": "request-log", "mountPath": REQUEST_LOG_DIR})
    memory = f"{size.memory_mb}Mi"
    return {
        "name": name,
        "image": facts.image,
        "imagePullPolicy": "IfNotPresent",
        "args": args,
        "ports": [{"name": port_name, "containerPort": PORT, "protocol": "TCP"}],
        "resources": {
            "requests": {"cpu": quantity(size.cpu), "memory": memory},
            "limits": {"memory": memory},
        },
        "livenessProbe": probe(HEALTH_PATH, PORT, 10),
        "readinessProbe": probe(READY_PATH, PORT, 5),
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": UID,
            "runAsGroup": UID,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": mounts,
    }


def pre_stop(deploy: DeployConfig) -> dict[str, Any]:
    """Keep serving while endpoints drop the pod; the image has python, not necessarily sleep."""
    sleep = f"import time; time.sleep({deploy.pre_stop_seconds})"
    return {"preStop": {"exec": {"command": [f"{VENV}/bin/python", "-c", sleep]}}}


def grace_seconds(deploy: DeployConfig) -> int:
    """The kubelet's SIGKILL comes after this: the preStop, then the server's own drain."""
    return deploy.pre_stop_seconds + GRACEFUL_SECONDS + EXIT_MARGIN_SECONDS


def volumes(deploy: DeployConfig) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {}}]
    if deploy.request_log:
        found.append({"name": "request-log", "emptyDir": {}})
    return found


def pod_security() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": UID,
        "runAsGroup": UID,
        "fsGroup": UID,  # the emptyDirs are writable by the server's user
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def scrape_annotations() -> dict[str, str]:
    return {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(PORT),
        "prometheus.io/path": METRICS_PATH,
    }


def deployment(deploy: DeployConfig, facts: ModelFacts, size: Sizing, name: str) -> dict[str, Any]:
    """No `replicas`: the HorizontalPodAutoscaler owns it (an apply would reset it)."""
    server = {**container(deploy, facts, size, "server", "http"), "lifecycle": pre_stop(deploy)}
    meta = metadata(name, deploy, facts)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "selector": {"matchLabels": selector(name)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {
                "metadata": {
                    "labels": meta["labels"],
                    "annotations": {**meta["annotations"], **scrape_annotations()},
                },
                "spec": {
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": grace_seconds(deploy),
                    "securityContext": pod_security(),
                    "containers": [server],
                    "volumes": volumes(deploy),
                },
            },
        },
    }


def service(deploy: DeployConfig, facts: ModelFacts, name: str) -> dict[str, Any]:
    port = {"name": "http", "port": deploy.service_port, "targetPort": "http", "protocol": "TCP"}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(name, deploy, facts),
        "spec": {"type": "ClusterIP", "selector": selector(name), "ports": [port]},
    }


def hpa_metric(deploy: DeployConfig) -> dict[str, Any]:
    rps = deploy.autoscaling.target_requests_per_second
    if rps is not None:
        return {
            "type": "Pods",
            "pods": {
                "metric": {"name": RPS_METRIC},
                "target": {"type": "AverageValue", "averageValue": quantity(rps)},
            },
        }
    target = {"type": "Utilization", "averageUtilization": deploy.autoscaling.target_cpu_percent}
    return {"type": "Resource", "resource": {"name": "cpu", "target": target}}


def autoscaler(deploy: DeployConfig, facts: ModelFacts, size: Sizing, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(name, deploy, facts),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": size.min_replicas,
            "maxReplicas": size.max_replicas,
            "metrics": [hpa_metric(deploy)],
        },
    }


def disruption_budget(deploy: DeployConfig, facts: ModelFacts, name: str) -> dict[str, Any]:
    """maxUnavailable, not minAvailable: one replica must still let a node drain."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata(name, deploy, facts),
        "spec": {
            "maxUnavailable": deploy.max_unavailable,
            "selector": {"matchLabels": selector(name)},
        },
    }


def service_monitor(deploy: DeployConfig, facts: ModelFacts, name: str) -> dict[str, Any]:
    """For a Prometheus Operator (a custom resource: the pod annotations serve other setups)."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": metadata(name, deploy, facts),
        "spec": {
            "selector": {"matchLabels": selector(name)},
            "endpoints": [{"port": "http", "path": METRICS_PATH}],
        },
    }


def kubernetes(deploy: DeployConfig, facts: ModelFacts) -> list[dict[str, Any]]:
    name, size = workload_name(deploy, facts), sizing(deploy, facts.profile)
    found = [
        deployment(deploy, facts, size, name),
        service(deploy, facts, name),
        autoscaler(deploy, facts, size, name),
        disruption_budget(deploy, facts, name),
    ]
    if deploy.service_monitor:
        found.append(service_monitor(deploy, facts, name))
    return found
