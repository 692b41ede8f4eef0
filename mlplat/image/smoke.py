"""`mlplat image test TAG`: run the image for real and compare it with the bundle in process.

The container uses host networking and binds 127.0.0.1 on a free port (the engine creates no
bridge). The bundle is copied out of the image itself, so the comparison is against exactly
what was baked in.
"""

from __future__ import annotations

import io
import json
import socket
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core.bundle import load_bundle
from mlplat.core.probe import ProbeError, probe
from mlplat.image.dockerfile import MODEL_DIR, VENV, ImageSpec
from mlplat.image.errors import ImageError

if TYPE_CHECKING:
    import docker
    import numpy as np
    from docker.models.containers import Container


@dataclass(frozen=True)
class SmokeResult:
    tag: str
    port: int
    uid: int
    rows: int
    max_abs_diff: float
    seconds_to_ready: float
    seconds_to_stop: float
    exit_code: int


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _http(url: str, body: dict[str, Any] | None = None, timeout: float = 5) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def wait_ready(container: Container, port: int, timeout: float = 60) -> float:
    """Seconds until GET /ready answers 200; fails early (with logs) if the container exits."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        container.reload()
        if container.status not in ("created", "running"):
            raise ImageError(f"container exited before ready: {_logs(container)}")
        try:
            status, body = _http(f"http://127.0.0.1:{port}/ready", timeout=1)
        except OSError:
            time.sleep(0.05)
            continue
        if status == 200:
            return time.perf_counter() - started
        # The server answers once its first load is over: not ready now means it refused the
        # baked bundle, which no wait will change.
        raise ImageError(f"the image's server is up but not ready: {_reason(body)}")
    raise ImageError(f"not ready within {timeout:.0f}s: {_logs(container)}")


def _reason(body: Any) -> str:
    try:
        return str(json.loads(body).get("reason") or body)
    except (TypeError, ValueError, AttributeError):
        return str(body)[:500]


def _logs(container: Container) -> str:
    return container.logs(tail=30).decode(errors="replace").strip()


def start(client: docker.DockerClient, tag: str, port: int) -> Container:
    """The image's own command, on 127.0.0.1:PORT; MLPLAT_PORT keeps the HEALTHCHECK in step."""
    import docker

    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound as exc:
        raise ImageError(
            f"no image '{tag}' in the engine: build it with `mlplat image build`"
        ) from exc
    workers = _workers(image.attrs["Config"].get("Cmd") or [])
    command = ImageSpec(base="", labels={}, workers=workers).command(host="127.0.0.1", port=port)
    return client.containers.run(
        tag,
        command=command,
        network_mode="host",
        environment={"MLPLAT_PORT": str(port)},
        detach=True,
        read_only=True,
        tmpfs={"/tmp": ""},
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
    )


def _workers(cmd: list[str]) -> int:
    return int(cmd[cmd.index("--workers") + 1]) if "--workers" in cmd else 1


def baked_bundle(container: Container, dest: Path) -> Path:
    """Copy the image's bundle out through the engine API (a tar stream)."""
    stream, _ = container.get_archive(MODEL_DIR)
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
        archive.extractall(dest, filter="data")
    return dest / Path(MODEL_DIR).name


def container_uid(container: Container) -> int:
    done = container.exec_run([f"{VENV}/bin/python", "-c", "import os; print(os.getuid())"])
    if done.exit_code != 0:
        raise ImageError(
            f"could not read the container's uid: {done.output.decode(errors='replace')}"
        )
    return int(done.output.decode().strip())


def expected(directory: Path) -> tuple[dict[str, Any], np.ndarray]:
    """The bundle's sample rows as a request, and its own predictions for them in this process.
    The probe comes first: a model that aborts LightGBM fails the test instead of killing it."""
    import numpy as np

    try:
        probe(directory)
    except ProbeError as exc:
        raise ImageError(f"the image's bundle cannot be loaded: {exc}") from exc
    bundle = load_bundle(directory)
    payload = {
        "dataframe_split": {"columns": bundle.sample["columns"], "data": bundle.sample["data"]}
    }
    return payload, np.asarray(bundle.predict(bundle.sample_frame()), dtype=float)


def compare(container: Container, port: int) -> tuple[int, float]:
    """POST the bundle's sample rows; returns (rows, max |served - in-process|)."""
    import numpy as np

    with tempfile.TemporaryDirectory(prefix="mlplat-baked-") as tmp:
        payload, expected_values = expected(baked_bundle(container, Path(tmp)))
    status, body = _http(f"http://127.0.0.1:{port}/invocations", payload, timeout=30)
    if status != 200 or not isinstance(body, dict) or "predictions" not in body:
        raise ImageError(f"POST /invocations answered {status}: {str(body)[:500]}")
    served, want = np.asarray(body["predictions"], dtype=float), expected_values
    if served.shape != want.shape or not np.allclose(served, want, rtol=1e-9, atol=1e-12):
        raise ImageError(f"served predictions differ from the bundle's: {served[:5]} vs {want[:5]}")
    return len(want), float(np.max(np.abs(served - want))) if len(want) else 0.0


def _stop(container: Container) -> tuple[float, int]:
    """SIGTERM (the image's STOPSIGNAL), then the exit code: 0 means a graceful shutdown."""
    started = time.perf_counter()
    container.stop(timeout=10)
    code = int(container.wait(timeout=30).get("StatusCode", -1))
    return time.perf_counter() - started, code


def smoke_test(client: docker.DockerClient, tag: str, ready_timeout: float = 60) -> SmokeResult:
    port = free_port()
    container = start(client, tag, port)
    try:
        ready = wait_ready(container, port, ready_timeout)
        uid = container_uid(container)
        if uid == 0:
            raise ImageError(f"'{tag}' runs as root (uid 0); the image must set a non-root USER")
        rows, diff = compare(container, port)
        stopped, code = _stop(container)
    finally:
        container.remove(force=True)
    return SmokeResult(tag, port, uid, rows, diff, ready, stopped, code)
