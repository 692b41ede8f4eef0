"""Serving image benchmark (issue 8): final image size, build time cold (no layer cache) and with
the layer cache (same dependencies, a new bundle), and container start to ready (medians).

Needs a Docker engine (DOCKER_HOST) and a base image, e.g. the debootstrap base of .ci/run:

    DOCKER_HOST=unix:///PATH/docker.sock .venv/bin/python benchmarks/bench_image.py \
        --base mlplat-base:test [--starts 5] [--cached 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mlplat.image import build, engine, smoke
from mlplat.image.context import labels, write_context
from mlplat.image.dockerfile import ImageSpec, render
from mlplat.image.source import ModelSource

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def trained_project(root: Path) -> Path:
    """The example project, trained once: its bundle is what the images serve."""
    from mlplat.example.churn import write

    shutil.copytree(REPO / "conf", root / "conf")
    write(root / "data" / "churn.csv", rows=4000)
    subprocess.run(
        [str(BIN / "mlplat"), "run", "+experiment=churn_baseline"],
        cwd=root,
        check=True,
        capture_output=True,
    )
    return root / "artifacts" / "churn_baseline" / "bundle"


def new_bundle(bundle: Path, dest: Path) -> Path:
    """Same model, new identity (metadata changed): a new version on cached dependency layers."""
    from mlplat.core.bundle import JSON_PARTS, MODEL_FILE, write_bundle
    from mlplat.core.io import read_json

    parts = {name: read_json(bundle / f"{name}.json") for name in JSON_PARTS}
    parts["metadata"]["created_at"] = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    write_bundle(dest, bundle / MODEL_FILE, parts)
    return dest


def rebundle(context: Path, dest: Path, other: ModelSource, base: str) -> Path:
    """The same wheelhouse and mlplat wheel with another bundle: what a new model version of
    unchanged code looks like to the layer cache (a shared tree's mlplat changes meanwhile)."""
    shutil.copytree(context, dest)
    shutil.rmtree(dest / "bundle")
    shutil.copytree(other.bundle_dir, dest / "bundle")
    spec = ImageSpec(base=base, labels=labels(other, base))
    (dest / "Dockerfile").write_text(render(spec), encoding="utf-8")
    return dest


def start_to_ready(client: object, tag: str) -> float:
    """From the API call that creates the container to GET /ready answering 200."""
    port = smoke.free_port()
    started = time.perf_counter()
    container = smoke.start(client, tag, port)  # type: ignore[arg-type]
    try:
        smoke.wait_ready(container, port, timeout=60)
        return time.perf_counter() - started
    finally:
        container.remove(force=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--cached", type=int, default=3)
    args = parser.parse_args()
    client = engine.connect()
    results: dict[str, object] = {"base": args.base}
    with tempfile.TemporaryDirectory(prefix="bench-image-") as tmp:
        bundle = trained_project(Path(tmp) / "proj")
        found = build.resolve(str(bundle), "", Path(tmp))
        started = time.perf_counter()
        context = write_context(Path(tmp) / "ctx", found, args.base)
        results["context_seconds"] = round(time.perf_counter() - started, 2)
        cold = engine.build(client, context.path, "mlplat-bench:cold", nocache=True)
        results["size_mb"] = round(cold.size_bytes / 1e6, 1)
        results["cold_build_seconds"] = round(cold.seconds, 1)
        cached = []
        for i in range(args.cached):
            other = build.resolve(str(new_bundle(bundle, Path(tmp) / f"b{i}")), "", Path(tmp))
            ctx = rebundle(context.path, Path(tmp) / f"ctx{i}", other, args.base)
            cached.append(engine.build(client, ctx, f"mlplat-bench:v{i}").seconds)
        results["cached_build_seconds_median"] = round(statistics.median(cached), 2)
        starts = [start_to_ready(client, cold.tag) for _ in range(args.starts)]
        results["start_to_ready_seconds_median"] = round(statistics.median(starts), 2)
        results["start_to_ready_seconds_all"] = [round(s, 2) for s in starts]
        for tag in ["mlplat-bench:cold", *(f"mlplat-bench:v{i}" for i in range(args.cached))]:
            client.images.remove(tag, force=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
