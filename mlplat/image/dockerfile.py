"""The Dockerfile of a model image: pure rendering of a template shipped as package data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

VENV = "/opt/venv"
MODEL_DIR = "/opt/model"
PORT = 8080
UID = 10001
LABEL_PREFIX = "io.mlplat"

# The healthcheck cannot use curl (a minimal base has none): the image's own python, stdlib only,
# asks /health on the port the server was started with ($MLPLAT_PORT, set in the image).
HEALTHCHECK = [
    f"{VENV}/bin/python",
    "-c",
    "import os, urllib.request; urllib.request.urlopen("
    "'http://127.0.0.1:%s/health' % os.environ.get('MLPLAT_PORT', '8080'), timeout=2)",
]


@dataclass(frozen=True)
class ImageSpec:
    """Everything the Dockerfile depends on; two equal specs render byte-identical Dockerfiles."""

    base: str
    labels: dict[str, str]
    workers: int = 1
    port: int = PORT
    uid: int = UID

    def command(self, host: str = "0.0.0.0", port: int | None = None) -> list[str]:
        """The server command; `mlplat image test` reuses it with a host and a free port."""
        return serve_command(self.workers, host, port or self.port)


def serve_command(workers: int = 1, host: str = "0.0.0.0", port: int = PORT) -> list[str]:
    """How the image runs its server (its CMD; Kubernetes manifests pass it as args)."""
    return [
        "mlplat",
        "serve",
        "--model",
        MODEL_DIR,
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]


def _quote(value: str) -> str:
    """A Dockerfile double-quoted string (LABEL values may hold spaces and quotes)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return f'"{escaped}"'


def label_block(labels: dict[str, str]) -> str:
    """One LABEL instruction, one key per line, sorted so the rendering is stable."""
    return " \\\n      ".join(f"{key}={_quote(labels[key])}" for key in sorted(labels))


def render(spec: ImageSpec) -> str:
    import jinja2

    source = resources.files("mlplat.image").joinpath("Dockerfile.j2").read_text(encoding="utf-8")
    template = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    ).from_string(source)
    return template.render(
        base=spec.base,
        venv=VENV,
        model_dir=MODEL_DIR,
        port=spec.port,
        uid=spec.uid,
        healthcheck=json.dumps(HEALTHCHECK),
        command=json.dumps(spec.command()),
        labels=label_block(spec.labels),
        model_name=spec.labels.get(f"{LABEL_PREFIX}.model.name", "?"),
        model_version=spec.labels.get(f"{LABEL_PREFIX}.model.version", "?"),
        bundle_sha256=spec.labels.get(f"{LABEL_PREFIX}.bundle.sha256", "?"),
    )
