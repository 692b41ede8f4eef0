"""Where an image's model comes from: a bundle directory or a registered model version.

A `models:/NAME@ALIAS` or `models:/NAME/VERSION` URI is resolved in the MLflow registry and its
bundle downloaded; the version's identity (name, version, run id) becomes image labels, and the
built image's tag and digest go back onto that version as tags.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlplat.core import model_ref
from mlplat.core.bundle import verify
from mlplat.core.errors import RegistryError
from mlplat.core.io import read_json
from mlplat.core.model_ref import ModelRef, Registry
from mlplat.image.errors import ImageError

TAG_PREFIX = "mlplat.image"


@dataclass(frozen=True)
class ModelSource:
    """A verified bundle on disk plus what is known about where it came from."""

    bundle_dir: Path
    bundle_sha256: str
    metadata: dict[str, str]
    uri: str
    name: str
    version: str | None = None  # None: not from the registry
    run_id: str | None = None


def _metadata(bundle_dir: Path) -> dict[str, str]:
    path = bundle_dir / "metadata.json"
    return {k: str(v) for k, v in read_json(path).items()} if path.is_file() else {}


def from_bundle(directory: str | Path) -> ModelSource:
    path = Path(directory)
    if not path.is_dir():
        raise ImageError(
            f"no bundle directory '{path}' (pass a bundle dir or models:/NAME@ALIAS)",
            file=str(path),
        )
    digest = verify(path)
    meta = _metadata(path)
    return ModelSource(path.resolve(), digest, meta, str(path), meta.get("model_name", path.name))


def from_registry(uri: str, registry: Registry, workdir: Path) -> ModelSource:
    """Resolve the URI to one version and download its bundle into `workdir`."""
    try:
        version = ModelRef.parse(uri, key="--model").lookup(registry.client)
    except registry.error as exc:
        raise RegistryError(f"'{uri}' is not in the registry: {exc}", key="--model") from exc
    name, number, run_id = version.name, str(version.version), version.run_id
    bundle_dir, digest = model_ref.download(registry, name, number, workdir / f"{name}-{number}")
    return ModelSource(bundle_dir, digest, _metadata(bundle_dir), uri, name, number, run_id)


def record_image(registry: Registry, source: ModelSource, tag: str, digest: str) -> None:
    """Put the image on the model version it serves."""
    if source.version is None:
        return
    client = registry.client
    client.set_model_version_tag(source.name, source.version, f"{TAG_PREFIX}.tag", tag)
    client.set_model_version_tag(source.name, source.version, f"{TAG_PREFIX}.digest", digest)
