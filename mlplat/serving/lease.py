"""Serving leases: a server following a registry model says which version it serves, and that
it is still alive, so `mlplat gc` never deletes a version in use.

Each server process keeps one small JSON file under the project (`.mlplat/leases/`) per model it
follows (the champion's, and a challenger's beside it), rewritten atomically with the version it
serves and a heartbeat: at every update check, and from a heartbeat thread every
`lease_ttl_seconds / BEATS_PER_TTL` whatever the poll interval (0 included); it removes the files
as it stops. A server killed without a goodbye leaves its files, which expire once their
heartbeat is older than `retention.lease_ttl_seconds`.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from mlplat.core.io import write_json

LEASES = Path(".mlplat") / "leases"
# Heartbeats per lease TTL: three can be missed (a stalled disk, a paused process) before the
# lease expires.
BEATS_PER_TTL = 4


def heartbeat_seconds(ttl_seconds: float) -> float:
    return ttl_seconds / BEATS_PER_TTL


@dataclass(frozen=True)
class Lease:
    model: str  # registered model name
    version: str
    uri: str  # what the server follows: models:/NAME@ALIAS or models:/NAME/VERSION
    host: str
    pid: int
    heartbeat: float  # seconds since the epoch

    def live(self, now: float, ttl_seconds: float) -> bool:
        return now - self.heartbeat < ttl_seconds


def lease_dir(project: Path) -> Path:
    return project / LEASES


@dataclass(frozen=True)
class LeaseWriter:
    """One server process's lease file."""

    directory: Path
    uri: str
    model: str
    role: str = ""  # "" for the model served, "challenger" for an experiment's other arm

    @classmethod
    def following(cls, uri: str, directory: str | None, role: str = "") -> LeaseWriter | None:
        """The lease of a server following registry model `uri`; None for a bundle directory or
        with no lease directory (a server started outside a project)."""
        if directory is None or not uri.startswith("models:/"):
            return None
        from mlplat.core.model_ref import ModelRef

        return cls(Path(directory), uri, ModelRef.parse(uri).name, role)

    @property
    def path(self) -> Path:
        suffix = f"-{self.role}" if self.role else ""
        return self.directory / f"{socket.gethostname()}-{os.getpid()}{suffix}.json"

    def beat(self, version: str) -> None:
        host = socket.gethostname()
        lease = Lease(self.model, version, self.uri, host, os.getpid(), time.time())
        write_json(self.path, asdict(lease))

    def release(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def read_leases(directory: Path) -> list[Lease]:
    """Every lease file under `directory`, live or not; a file being replaced or unreadable is
    skipped (its writer rewrites it within a poll interval)."""
    found = []
    for file in sorted(directory.glob("*.json")):
        try:
            found.append(Lease(**json.loads(file.read_text(encoding="utf-8"))))
        except (OSError, ValueError, TypeError):
            continue
    return found
