"""What a server process needs, as plain data: handed to uvicorn workers in one env variable."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

from mlplat.serving.online.guard import Limits
from mlplat.serving.online.settings import OnlineSettings

ENV = "MLPLAT_SERVE_SETTINGS"
ADMIN_TOKEN_ENV = "MLPLAT_ADMIN_TOKEN"


@dataclass(frozen=True)
class ServeSettings:
    model: str  # models:/NAME@alias, models:/NAME/VERSION or a bundle directory
    tracking_uri: str | None = None
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    max_payload_bytes: int = 10_000_000
    max_batch_rows: int = 100_000
    poll_interval_seconds: float = 10.0
    request_log_dir: str | None = None
    request_log_sample: float = 1.0
    request_log_queue_size: int = 10_000
    request_log_rotate_bytes: int = 50_000_000
    request_log_rotate_seconds: float = 300.0
    schema_change: str = "refuse"  # serving.schema_change: refuse | warn
    scoring_workers: int = 2
    offload_min_bytes: int = 131_072
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0
    keep_alive_seconds: int = 5
    lease_dir: str | None = None  # where the server keeps its lease (the project's .mlplat/leases)
    lease_heartbeat_seconds: float = 0.0  # 0: the lease is renewed at update checks only
    online: OnlineSettings | None = None  # None: one model, no experiment

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> ServeSettings:
        values = json.loads(os.environ[ENV])
        online = values.pop("online", None)
        if online is not None:
            online["ramp"] = tuple(online["ramp"])
            online["overrides"] = tuple(online["overrides"])
            online["limits"] = Limits(**online["limits"])
            values["online"] = OnlineSettings(**online)
        return cls(**values)


def admin_token() -> str | None:
    """The admin endpoint is off unless a token is set: a secret never goes in a config file."""
    return os.environ.get(ADMIN_TOKEN_ENV) or None
