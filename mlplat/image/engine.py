"""The Docker Engine, through the `docker` SDK: connect, build, inspect. No docker CLI needed."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.image.errors import EngineUnavailableError, ImageError

if TYPE_CHECKING:
    import docker

HOW_TO_POINT = (
    "start an engine or point DOCKER_HOST at one (e.g. DOCKER_HOST=unix:///path/to/docker.sock)"
)
CONTEXT_ONLY = ", or write the context only with --context-only DIR"


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    digest: str  # the image id (sha256 of its config): a local build has no registry digest
    size_bytes: int
    seconds: float


def connect(hint: str = "") -> docker.DockerClient:
    """A client for DOCKER_HOST (or the default socket) that answered a ping."""
    import docker

    where = os.environ.get("DOCKER_HOST") or "the default socket (unix:///var/run/docker.sock)"
    try:
        client = docker.from_env(timeout=600)
        client.ping()
    except docker.errors.DockerException as exc:
        raise EngineUnavailableError(f"no Docker engine at {where}: {HOW_TO_POINT}{hint}") from exc
    return client


def _stream_error(chunk: dict[str, Any]) -> str | None:
    if "error" in chunk:
        return str(chunk.get("error"))
    detail = chunk.get("errorDetail")
    return str(detail.get("message")) if isinstance(detail, dict) else None


def build(
    client: docker.DockerClient,
    context: Path,
    tag: str,
    log: Callable[[str], None] | None = None,
    nocache: bool = False,
) -> BuiltImage:
    """Build with network "none": the Dockerfile installs from the wheelhouse only."""
    started = time.perf_counter()
    lines: list[str] = []
    for chunk in client.api.build(
        path=str(context),
        tag=tag,
        rm=True,
        forcerm=True,
        network_mode="none",
        decode=True,
        nocache=nocache,
    ):
        error = _stream_error(chunk)
        if error:
            tail = "".join(lines[-15:]).strip()
            raise ImageError(f"image build failed: {error.strip()}\n{tail}", file=str(context))
        text = chunk.get("stream", "")
        if text:
            lines.append(text)
            if log:
                log(text.rstrip("\n"))
    image = client.images.get(tag)
    return BuiltImage(
        tag, str(image.id), int(image.attrs.get("Size", 0)), time.perf_counter() - started
    )
