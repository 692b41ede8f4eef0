"""`mlplat notify test` and `mlplat notify listen`.

`test` sends one sample event to one declared target, now, and says what became of it.

`listen` is a small HTTP server for MLflow's registry webhooks (MLflow 3.3+, a SQL-backed
tracking server): it checks MLflow's signature and timestamp, turns the event into an mlplat
event and fans it out to the declared targets, so alias moves made outside mlplat (the MLflow UI,
another tool) reach people too. MLflow signs as Standard Webhooks do, with its own headers:
`X-MLflow-Signature: v1,<base64 HMAC-SHA256 of "delivery_id.timestamp.body">` keyed by the
secret's bytes, `X-MLflow-Timestamp` (Unix seconds), `X-MLflow-Delivery-Id`
(mlflow/webhooks/delivery.py, MLflow 3.17).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core.config.notify import NotifyConfig
from mlplat.core.errors import ConfigError
from mlplat.core.notify import deliver, payload
from mlplat.core.notify.event import Event, make
from mlplat.core.vocabulary import NotifyEvent
from mlplat.tracking import aliases, notices
from mlplat.tracking.tracker import Tracker

if TYPE_CHECKING:
    from mlplat.core.config import PlatformConfig

SIGNATURE, TIMESTAMP = "X-MLflow-Signature", "X-MLflow-Timestamp"
DELIVERY_ID = "X-MLflow-Delivery-Id"  # the same on MLflow's retries of one delivery
MAX_BODY = 1 << 20


def _config(project: Path, overrides: list[str]) -> PlatformConfig:
    from mlplat.pipeline.compose import compose

    return compose(project, overrides)


def _declared(notify: NotifyConfig) -> str:
    return ", ".join(sorted(notify.targets)) or "none (conf/notify/ declares no targets)"


def sample(target: str) -> Event:
    """A test event: a new id every time, so each `notify test` is sent."""
    return make(
        NotifyEvent.TEST,
        (target, uuid.uuid4().hex),
        f"mlplat test notification for '{target}'",
        "If you can read this, mlplat can reach this channel.",
        facts={"target": target, "sent by": aliases.user()},
    )


def test(project: Path, target: str, overrides: list[str]) -> deliver.Delivery:
    """Send a sample event to `target` now; refused (exit 2) when the target or its URL is not
    declared, so a typo is not mistaken for a receiver that is down."""
    notify = _config(project, overrides).notify
    found = notify.targets.get(target)
    if found is None:
        raise ConfigError(
            f"no notification target '{target}'; declared: {_declared(notify)}",
            key="notify.targets",
        )
    for key in ("url_env", "secret_env"):
        name = getattr(found, key)
        if name and not os.environ.get(name):
            raise ConfigError(
                f"${name} is not set: export the {key.removesuffix('_env').upper()} of "
                f"target '{target}' in the environment",
                key=f"notify.targets.{target}.{key}",
            )
    [done] = deliver.send(sample(target), {target: found}, notices.ledger(notify, project))
    return done


# --------------------------------------------------------------------------------- listen
@dataclass(frozen=True)
class Heard:
    """What the listener made of one request: the HTTP answer and the deliveries."""

    status: int
    message: str
    deliveries: tuple[deliver.Delivery, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "deliveries": [
                {"target": d.target, "outcome": d.outcome.value, "detail": d.detail}
                for d in self.deliveries
            ],
        }


@dataclass(frozen=True)
class Listener:
    notify: NotifyConfig
    secret: str
    tracker: Tracker
    project: Path

    def hear(self, headers: dict[str, str], body: bytes, now: float | None = None) -> Heard:
        """Verify, translate, fan out."""
        got = {k.lower(): v for k, v in headers.items()}
        refused = self.refuse(got, body, time.time() if now is None else now)
        if refused:
            return Heard(HTTPStatus.UNAUTHORIZED, refused)
        try:
            message = json.loads(body)
        except json.JSONDecodeError:
            return Heard(HTTPStatus.BAD_REQUEST, "the body is not JSON")
        event = self.event(message, got[DELIVERY_ID.lower()])
        if event is None:
            what = f"{message.get('entity')}.{message.get('action')}"
            return Heard(HTTPStatus.OK, f"{what}: nothing to tell")
        found = deliver.send(event, self.notify.targets, notices.ledger(self.notify, self.project))
        return Heard(HTTPStatus.OK, event.title, found)

    def refuse(self, got: dict[str, str], body: bytes, now: float) -> str | None:
        """Why the request is not MLflow's (None: it is): signature, then the timestamp's age;
        `got`: the headers, by lower-case name."""
        sent, stamp = got.get(SIGNATURE.lower(), ""), got.get(TIMESTAMP.lower(), "")
        delivery = got.get(DELIVERY_ID.lower(), "")
        if not (sent and stamp and delivery):
            return f"unsigned: {SIGNATURE}, {TIMESTAMP} and {DELIVERY_ID} are required"
        if not payload.verify(self.secret.encode(), delivery, stamp, body, sent):
            return "wrong signature"
        try:
            age = now - int(stamp)
        except ValueError:
            return "the timestamp is not Unix seconds"
        limit = self.notify.listen_max_age_seconds
        if abs(age) > limit:
            return f"the timestamp is {age:.0f} s off (limit {limit:g} s): a replay?"
        return None

    def event(self, message: dict[str, Any], delivery: str) -> Event | None:
        entity, action = message.get("entity"), message.get("action")
        data = message.get("data") or {}
        if (entity, action) == ("model_version_alias", "created"):
            return self.alias_set(
                str(data["name"]), str(data["alias"]), str(data["version"]), delivery
            )
        if (entity, action) == ("model_version", "created"):
            name, version = str(data["name"]), str(data["version"])
            return make(
                NotifyEvent.REGISTERED,  # the id mlplat's own registration gives it: told once
                (name, version, data.get("run_id") or ""),
                f"{name} v{version} registered",
                f"Registered in {self.tracker.uri.split('@')[-1]} (heard from MLflow).",
                facts={"model": f"models:/{name}/{version}", "source": str(data.get("source"))},
                model=name,
                version=version,
            )
        return None

    def alias_set(self, name: str, alias: str, version: str, delivery: str) -> Event | None:
        """An alias set in the registry; None when mlplat set it (and told people already).
        A move is mlplat's when the last move its history records for the alias is to this
        version; an outside move enters the history here, so setting the old version back from
        outside is told too. The card diff is against the champion mlplat last recorded."""
        history = aliases.history(self.tracker, name)
        before = aliases.last(history, alias)
        # the action that last set the alias to this version, None if another version was last
        recorded = before.action if before is not None and before.version == version else None
        if recorded is not None and recorded != aliases.OUTSIDE:
            return None
        stack = aliases.champion_stack(history)
        previous = stack[-1] if alias == aliases.CHAMPION and stack else None
        diff = (
            notices.diff_summary(self.tracker.client, name, previous, version)
            if previous and previous != version
            else ""
        )
        if recorded is None:  # else MLflow redelivered an outside move the history holds
            reason = f"heard from MLflow ({delivery})"
            aliases.heard(self.tracker, name, alias, version, before, reason)
        return make(
            NotifyEvent.ALIAS_MOVED,
            (name, alias, version, delivery),
            f"{name}@{alias} set to v{version} outside mlplat",
            (f"Last champion recorded by mlplat: v{previous}.\n{diff}" if diff else "").strip(),
            facts={"model": f"models:/{name}/{version}", "alias": alias},
            model=name,
            version=version,
        )


def listener(project: Path, overrides: list[str]) -> Listener:
    cfg = _config(project, overrides)
    secret = os.environ.get(cfg.notify.listen_secret_env, "")
    if not secret:
        raise ConfigError(
            f"${cfg.notify.listen_secret_env} is not set: export the secret the MLflow webhook "
            "was created with (`MlflowClient().create_webhook(..., secret=...)`)",
            key="notify.listen_secret_env",
        )
    return Listener(cfg.notify, secret, Tracker.of(project, cfg.tracking.uri), project)


def server(found: Listener, host: str, port: int, report: Callable[[Heard], None]) -> Any:
    """A ThreadingHTTPServer answering POSTs with `found.hear`; `report` sees every answer."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            size = int(self.headers.get("content-length") or 0)
            if size > MAX_BODY:
                heard = Heard(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large")
            else:
                heard = self.heard(self.rfile.read(size))
            report(heard)
            content = json.dumps(heard.to_json()).encode()
            self.send_response(heard.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def heard(self, body: bytes) -> Heard:
            try:
                return found.hear(dict(self.headers.items()), body)
            except Exception as exc:  # the store is down, a malformed event: MLflow retries
                return Heard(HTTPStatus.INTERNAL_SERVER_ERROR, f"not handled: {exc}")

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: `report` prints one line per request instead."""

    return ThreadingHTTPServer((host, port), Handler)
