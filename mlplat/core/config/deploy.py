"""`conf/deploy/`: how `mlplat deploy render` runs a model on Kubernetes or KServe.

What mlplat already knows (the image digest, the server's port, routes, drain time and user, the
profile's sizing) is not declared here: the renderer reads it from the model version and the
server, so the manifests cannot drift from it. Only the cluster's own choices are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mlplat.core.config.bounds import bounded
from mlplat.core.errors import ConfigError
from mlplat.core.vocabulary import AutoscalerClass, KServeMode, choices, knows


@dataclass
class ResourcesConfig:
    """Per pod (one server worker each); None: from the version's `mlplat profile`."""

    cpu: float | None = bounded(None, gt=0)  # cores requested
    memory_mb: int | None = bounded(None, ge=16)  # requested and the limit


@dataclass
class AutoscalingConfig:
    min_replicas: int | None = bounded(None, ge=1)  # None: the profile's recommended workers
    max_replicas: int = bounded(4, ge=1)
    target_cpu_percent: int = bounded(70, ge=1, le=100)  # of the CPU request, averaged over pods
    # Scale on requests per second per pod instead (a custom metric, e.g. prometheus-adapter)
    target_requests_per_second: int | None = bounded(None, ge=1)


@dataclass
class DeployConfig:
    name: str | None = None  # the workload's name; None: the registered model name
    namespace: str = "default"
    kubernetes_version: str = "1.30"  # the built-in kinds are validated against this version
    mode: str = "raw"  # KServe: raw (a Deployment + HPA) | serverless (Knative)
    autoscaler_class: str = "hpa"  # KServe raw mode: hpa | keda
    # Seconds the pod keeps serving after it is marked for termination, while endpoints drop it
    pre_stop_seconds: int = bounded(5, ge=0, le=60)
    max_unavailable: int = bounded(1, ge=1)  # PodDisruptionBudget: pods a drain may take at once
    service_port: int = bounded(80, ge=1, le=65535)
    request_log: bool = True  # sampled requests to an emptyDir (the root filesystem is read-only)
    service_monitor: bool = False  # also a Prometheus Operator ServiceMonitor for /metrics
    resources: ResourcesConfig = field(default_factory=ResourcesConfig)
    autoscaling: AutoscalingConfig = field(default_factory=AutoscalingConfig)


KUBERNETES_VERSION = re.compile(r"^v?1\.\d+(\.\d+)?$")


def check(deploy: DeployConfig) -> None:
    """What types and bounds cannot say: the words, the version's form, min <= max."""
    for key, vocabulary in (("mode", KServeMode), ("autoscaler_class", AutoscalerClass)):
        if not knows(vocabulary, getattr(deploy, key)):
            raise ConfigError(
                f"unknown {key} '{getattr(deploy, key)}'; choose one of {choices(vocabulary)}",
                key=f"deploy.{key}",
            )
    if not KUBERNETES_VERSION.match(deploy.kubernetes_version):
        raise ConfigError(
            f"'{deploy.kubernetes_version}' is not a Kubernetes version like 1.30",
            key="deploy.kubernetes_version",
        )
    scaling = deploy.autoscaling
    if scaling.min_replicas is not None and scaling.max_replicas < scaling.min_replicas:
        raise ConfigError(
            f"max_replicas {scaling.max_replicas} is below min_replicas {scaling.min_replicas}",
            key="deploy.autoscaling.max_replicas",
        )
