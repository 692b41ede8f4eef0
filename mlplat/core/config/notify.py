"""`conf/notify/`: who is told what. Each target names the environment variables that hold its
URL and its signing secret, never the values: a config is logged to MLflow, copied into DVC's
params and shown on model cards, and a Slack or Teams webhook URL is itself a credential.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mlplat.core.config.bounds import bounded

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class TargetConfig:
    kind: str = "webhook"  # webhook | slack | teams (core.vocabulary.NotifyKind)
    url_env: str = ""  # the environment variable holding the URL
    secret_env: str | None = None  # webhook: the variable holding the signing secret
    events: list[str] = field(default_factory=list)  # core.vocabulary.NotifyEvent; []: all
    timeout_seconds: float = bounded(5.0, gt=0, le=120)  # per attempt
    attempts: int = bounded(3, ge=1, le=10)  # retried on 429, 5xx, timeouts, refused
    backoff_seconds: float = bounded(0.5, ge=0, le=60)  # before retry n: backoff x 2^(n-1)


@dataclass
class NotifyConfig:
    targets: dict[str, TargetConfig] = field(default_factory=dict)  # none: notifications off
    # every attempt, one JSON line (event, target, attempt, status, latency), under the project
    ledger: str = ".mlplat/notify/ledger.jsonl"
    # `mlplat notify listen`: MLflow's webhook secret (its variable) and the oldest timestamp
    # it accepts, against replays
    listen_secret_env: str = "MLPLAT_LISTEN_SECRET"
    listen_max_age_seconds: float = bounded(300.0, gt=0)


def _env_name(value: str | None, key: str) -> None:
    from mlplat.core.errors import ConfigError

    if value is not None and not ENV_NAME.fullmatch(value):
        raise ConfigError(
            "must name an environment variable (e.g. SLACK_WEBHOOK_URL), not hold a URL or a "
            "secret: secrets never go into a config",
            key=key,
        )


def check(notify: NotifyConfig) -> None:
    """What types and bounds cannot say, named by key."""
    from mlplat.core.errors import ConfigError
    from mlplat.core.vocabulary import NotifyEvent, NotifyKind, choices, knows

    _env_name(notify.listen_secret_env, "notify.listen_secret_env")
    for name, target in notify.targets.items():
        key = f"notify.targets.{name}"
        if not knows(NotifyKind, target.kind):
            raise ConfigError(
                f"unknown kind '{target.kind}'; choose one of {choices(NotifyKind)}",
                key=f"{key}.kind",
            )
        _env_name(target.url_env, f"{key}.url_env")
        _env_name(target.secret_env, f"{key}.secret_env")
        unknown = [e for e in target.events if not knows(NotifyEvent, e)]
        if unknown:
            raise ConfigError(
                f"unknown event '{unknown[0]}'; choose from {choices(NotifyEvent)}",
                key=f"{key}.events",
            )
