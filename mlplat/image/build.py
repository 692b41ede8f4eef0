"""`mlplat image build`: model (bundle dir or models:/ URI) -> context -> image -> registry."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mlplat.core import model_ref
from mlplat.core.model_ref import Registry
from mlplat.image import engine, source
from mlplat.image.context import BuildContext, default_tag, write_context


@dataclass(frozen=True)
class BuildResult:
    context: BuildContext  # after a build, its directory (a temporary one) is already gone
    model: source.ModelSource
    image: engine.BuiltImage | None = None  # None: context only


def resolve(model: str, registry: Registry, workdir: Path) -> source.ModelSource:
    if model_ref.is_registry(model):
        return source.from_registry(model, registry, workdir)
    return source.from_bundle(model)


def write_only(
    model: str, registry: Registry, base: str, dest: Path, workers: int = 1
) -> BuildResult:
    """The context alone, no engine: for review, golden tests or another builder."""
    with tempfile.TemporaryDirectory(prefix="mlplat-model-") as tmp:
        found = resolve(model, registry, Path(tmp))
        return BuildResult(write_context(dest, found, base, workers), found)


def build_image(
    model: str,
    registry: Registry,
    base: str,
    tag: str | None = None,
    workers: int = 1,
    log: Callable[[str], None] | None = None,
) -> BuildResult:
    """Connect first (fail fast, before any download), then render, build and record."""
    client = engine.connect(hint=engine.CONTEXT_ONLY)
    with tempfile.TemporaryDirectory(prefix="mlplat-image-") as tmp:
        found = resolve(model, registry, Path(tmp) / "model")
        context = write_context(Path(tmp) / "context", found, base, workers)
        built = engine.build(client, context.path, tag or default_tag(found), log)
    source.record_image(registry, found, built.tag, built.digest)
    return BuildResult(context, found, built)
