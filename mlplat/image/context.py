"""A build context on disk: Dockerfile, bundle, wheelhouse. Written atomically, engine-free."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mlplat
from mlplat.core.bundle import copy_bundle
from mlplat.core.io import atomic_dir
from mlplat.image.dockerfile import LABEL_PREFIX, ImageSpec, render
from mlplat.image.errors import ImageError
from mlplat.image.source import ModelSource
from mlplat.image.wheelhouse import write_wheelhouse

DOCKERIGNORE = "# Everything in this context is meant for the image.\n"


@dataclass(frozen=True)
class BuildContext:
    path: Path
    spec: ImageSpec
    requirements: list[str]


def labels(source: ModelSource, base: str) -> dict[str, str]:
    """OCI annotations plus the model's identity, so `docker inspect` says what is served."""
    meta = source.metadata
    version = source.version or "unregistered"
    ours = {
        "model.name": source.name,
        "model.version": version,
        "model.uri": source.uri,
        "model.run_id": source.run_id or meta.get("run_id", "unknown"),
        "model.git_sha": meta.get("git_sha", "unknown"),
        "model.config_hash": meta.get("config_hash", "unknown"),
        "bundle.sha256": source.bundle_sha256,
        "version": mlplat.__version__,
    }
    return {
        "org.opencontainers.image.title": source.name,
        "org.opencontainers.image.description": f"mlplat server for {source.name} {version}",
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.revision": meta.get("git_sha", "unknown"),
        "org.opencontainers.image.created": meta.get("created_at", "unknown"),
        "org.opencontainers.image.vendor": "mlplat",
        "org.opencontainers.image.base.name": base,
        **{f"{LABEL_PREFIX}.{key}": value for key, value in ours.items()},
    }


def default_tag(source: ModelSource) -> str:
    return f"mlplat/{source.name}:{source.version or source.bundle_sha256[:12]}"


def write_context(
    dest: str | Path, source: ModelSource, base: str, workers: int = 1
) -> BuildContext:
    spec = ImageSpec(base=base, labels=labels(source, base), workers=workers)
    with atomic_dir(dest) as tmp:
        # exactly the listed files, checked again: what the image serves is what was verified
        if copy_bundle(source.bundle_dir, tmp / "bundle") != source.bundle_sha256:
            raise ImageError("the bundle changed after it was checked", file=str(source.bundle_dir))
        reqs = write_wheelhouse(tmp / "wheels", tmp / "app")
        (tmp / "Dockerfile").write_text(render(spec), encoding="utf-8")
        (tmp / ".dockerignore").write_text(DOCKERIGNORE, encoding="utf-8")
    return BuildContext(Path(dest), spec, reqs)
