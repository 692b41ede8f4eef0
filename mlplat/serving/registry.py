"""The two registry calls `mlplat bench` makes: move an alias (--swap) and log results on the run.

MLflow is imported lazily here and never on the server's request path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlplat.core.errors import RegistryError
from mlplat.serving.source import REGISTRY_URI
from mlplat.serving.source import registry_client as _client


def parse_alias_uri(model: str) -> tuple[str, str]:
    found = REGISTRY_URI.match(model)
    if not found or not found["alias"]:
        raise RegistryError(f"'{model}' is not models:/NAME@ALIAS", key="model")
    return found["name"], found["alias"]


def alias_mover(model: str, tracking_uri: str, to_version: str) -> Callable[[], None]:
    """A callable that points the alias at `to_version`; checks both exist before the run starts."""
    name, alias = parse_alias_uri(model)
    client = _client(tracking_uri)
    try:
        client.get_model_version(name, to_version)
        client.get_model_version_by_alias(name, alias)
    except Exception as exc:
        raise RegistryError(
            f"cannot swap {model} to version {to_version}: {exc}", key="swap"
        ) from exc
    return lambda: client.set_registered_model_alias(name, alias, to_version)


def log_results(
    model: str, tracking_uri: str, summary: dict[str, Any], version: str | None = None
) -> str:
    """Log `bench.*` metrics on the run that made the served model version; returns the run id."""
    found = REGISTRY_URI.match(model)
    if not found:
        raise RegistryError(f"'{model}' is not a registry URI", key="model")
    client = _client(tracking_uri)
    if version is None:
        mv = (
            client.get_model_version_by_alias(found["name"], found["alias"])
            if found["alias"]
            else client.get_model_version(found["name"], found["version"])
        )
    else:
        mv = client.get_model_version(found["name"], version)
    for key, value in summary.items():
        if isinstance(value, int | float) and value == value:  # skip NaN
            client.log_metric(mv.run_id, f"bench.{key}", float(value))
    return str(mv.run_id)
