"""`mlflow server` on 127.0.0.1 for the tests that need a tracking store reached over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def mlflow_server(
    base: Path, destination: str | None = None, env: dict[str, str] | None = None
) -> Iterator[str]:
    """A server with a sqlite store in `base`, proxying artifacts to `destination` (a directory
    under `base` unless given, e.g. an s3:// URI); yields its URL and stops it on exit."""
    base.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", "1"]
    command += ["--backend-store-uri", f"sqlite:///{base / 'mlflow.db'}"]
    command += ["--artifacts-destination", destination or str(base / "artifacts")]
    full_env = {**os.environ, **(env or {})}
    with open(base / "server.log", "w") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, cwd=base, env=full_env
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=5).close()
                break
            except OSError:
                assert process.poll() is None, (base / "server.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "mlflow server did not start"
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(60)
