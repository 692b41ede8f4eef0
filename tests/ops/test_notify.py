"""Notifications (issue 23): signed Standard Webhooks, Slack and Teams payloads delivered to a
real receiver on 127.0.0.1, retries and the ledger's at-most-once, a receiver that never answers
bounded by the declared timeout, `mlplat notify test`, `mlplat notify listen` verifying MLflow's
signature (and a real MLflow server delivering its registry webhooks to it), the events a run,
a promotion and a rollback raise, and no secret in any log, param, tag, card or file."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlplat.core.config.notify import TargetConfig
from mlplat.core.errors import ConfigError
from mlplat.core.notify import deliver
from mlplat.core.notify.event import make
from mlplat.core.vocabulary import Delivered, NotifyEvent
from tests.conftest import MLPLAT, make_project, mlplat, tracking_uri
from tests.mlflow_server_support import mlflow_server as start_mlflow_server

SECRET = "whsec_" + base64.b64encode(b"notify-test-signing-key-0123456789").decode()
URL_TOKEN = "T0KEN-" + uuid.uuid4().hex  # a Slack-style URL is a credential too
LISTEN_SECRET = "mlflow-hook-secret-" + uuid.uuid4().hex[:12]


# ------------------------------------------------------------------ a real receiver on 127.0.0.1
@dataclass
class Receiver:
    url: str
    script: list[int] = field(default_factory=list)  # statuses to answer, in order; then 200
    hang: bool = False  # read the request, never answer
    seen: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.seen]


@contextmanager
def receiver(script: tuple[int, ...] = (), hang: bool = False) -> Iterator[Receiver]:
    state = Receiver("", list(script), hang)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            state.seen.append(({k.lower(): v for k, v in self.headers.items()}, body))
            if state.hang:
                state.released.wait(30)
                return
            self.send_response(state.script.pop(0) if state.script else 200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}/hooks/{URL_TOKEN}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.released.set()
        server.shutdown()
        server.server_close()


def _standard_signature(secret: str, headers: dict[str, str], body: bytes) -> str:
    """Standard Webhooks, written out independently of mlplat's code."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def _event(kind: NotifyEvent = NotifyEvent.REGISTERED) -> Any:
    return make(
        kind,
        (uuid.uuid4().hex,),
        "telco-churn-lgbm v3 registered",
        "Gates passed.",
        facts={"model": "models:/telco-churn-lgbm/3", "gates": "passed"},
        model="telco-churn-lgbm",
        version="3",
        link="runs:/abc/card/card.md",
    )


def _target(**extra: Any) -> TargetConfig:
    return TargetConfig(**{"url_env": "NOTIFY_TEST_URL", "backoff_seconds": 0.05, **extra})


def _ledger(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# ------------------------------------------------------------------------------ payloads, signing
def test_a_webhook_is_signed_the_standard_webhooks_way(tmp_path: Path) -> None:
    event = _event()
    with receiver() as hook:
        env = {"NOTIFY_TEST_URL": hook.url, "NOTIFY_TEST_SECRET": SECRET}
        target = _target(secret_env="NOTIFY_TEST_SECRET")
        [done] = deliver.send(event, {"audit": target}, tmp_path / "ledger.jsonl", env)
    assert done.outcome == Delivered.SENT and done.status == 200
    [(headers, body)] = hook.seen
    assert headers["webhook-id"] == event.id
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    assert headers["webhook-signature"] == _standard_signature(SECRET, headers, body)
    assert headers["content-type"] == "application/json"
    sent = json.loads(body)
    assert sent["type"] == "version_registered" and sent["timestamp"] == event.at
    assert sent["data"]["id"] == event.id and sent["data"]["version"] == "3"
    assert sent["data"]["facts"] == {"model": "models:/telco-churn-lgbm/3", "gates": "passed"}
    [line] = _ledger(tmp_path / "ledger.jsonl")
    assert line["event"] == event.id and line["target"] == "audit" and line["status"] == 200
    assert line["attempt"] == 1 and isinstance(line["latency_ms"], int)


def test_slack_and_teams_get_their_own_shapes(tmp_path: Path) -> None:
    event = _event(NotifyEvent.PROMOTED)
    with receiver() as hook:
        env = {"NOTIFY_TEST_URL": hook.url}
        targets = {"chat": _target(kind="slack"), "channel": _target(kind="teams")}
        found = deliver.send(event, targets, tmp_path / "ledger.jsonl", env)
    assert [d.outcome for d in found] == [Delivered.SENT, Delivered.SENT]
    slack, teams = hook.bodies()
    assert "webhook-signature" not in hook.seen[0][0]  # no secret declared: unsigned
    assert set(slack) == {"text", "blocks"} and event.title in slack["text"]
    assert slack["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": event.title},
    }
    fields = next(b for b in slack["blocks"] if "fields" in b)["fields"]
    assert {"type": "mrkdwn", "text": "*gates*\npassed"} in fields
    assert teams["type"] == "message"
    [attachment] = teams["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    facts = next(b for b in card["body"] if b["type"] == "FactSet")["facts"]
    assert {"title": "gates", "value": "passed"} in facts


def test_a_target_gets_only_the_events_it_lists(tmp_path: Path) -> None:
    with receiver() as hook:
        env = {"NOTIFY_TEST_URL": hook.url}
        targets = {"oncall": _target(events=["gates_failed"])}
        assert deliver.send(_event(), targets, tmp_path / "ledger.jsonl", env) == ()
        [done] = deliver.send(
            _event(NotifyEvent.GATES_FAILED), targets, tmp_path / "ledger.jsonl", env
        )
    assert done.ok and [b["type"] for b in hook.bodies()] == ["gates_failed"]


# ------------------------------------------------------------------------ retries and the ledger
def test_a_500_then_200_is_delivered_exactly_once(tmp_path: Path) -> None:
    event, ledger = _event(), tmp_path / "ledger.jsonl"
    with receiver(script=(500,)) as hook:
        env = {"NOTIFY_TEST_URL": hook.url, "NOTIFY_TEST_SECRET": SECRET}
        target = {"audit": _target(secret_env="NOTIFY_TEST_SECRET")}
        [first] = deliver.send(event, target, ledger, env)
        [again] = deliver.send(event, target, ledger, env)  # e.g. a rerun raising the same event
    assert first.outcome == Delivered.SENT and first.attempts == 2
    assert again.outcome == Delivered.ALREADY
    assert len(hook.seen) == 2  # the 500, then the one delivery; nothing after it
    ids = {h["webhook-id"] for h, _ in hook.seen}
    assert ids == {event.id}  # a retry is the same message to the receiver
    for headers, body in hook.seen:  # every attempt is signed with its own timestamp
        assert headers["webhook-signature"] == _standard_signature(SECRET, headers, body)
    lines = _ledger(ledger)
    assert [(x["attempt"], x["status"]) for x in lines] == [(1, 500), (2, 200)]


def test_a_refusal_other_than_429_is_not_retried(tmp_path: Path) -> None:
    with receiver(script=(400,)) as hook:
        [done] = deliver.send(
            _event(), {"audit": _target()}, tmp_path / "l.jsonl", {"NOTIFY_TEST_URL": hook.url}
        )
    assert done.outcome == Delivered.FAILED and done.attempts == 1 and len(hook.seen) == 1
    assert done.detail == "HTTP 400 after 1 attempt(s)"


def test_a_receiver_that_never_answers_costs_at_most_the_declared_timeouts(
    tmp_path: Path,
) -> None:
    target = _target(timeout_seconds=0.5, attempts=2)
    with receiver(hang=True) as hook:
        started = time.monotonic()
        [done] = deliver.send(
            _event(), {"slow": target}, tmp_path / "l.jsonl", {"NOTIFY_TEST_URL": hook.url}
        )
        took = time.monotonic() - started
    assert done.outcome == Delivered.FAILED and done.status is None and len(hook.seen) == 2
    assert "timed out" in done.detail
    assert took < 0.5 * 2 + 0.05 + 3.0  # timeouts + backoff + a loose margin
    assert URL_TOKEN not in (tmp_path / "l.jsonl").read_text()


def test_an_unset_url_or_secret_is_a_failed_delivery_not_an_error(tmp_path: Path) -> None:
    [done] = deliver.send(_event(), {"audit": _target()}, tmp_path / "l.jsonl", {})
    assert done.outcome == Delivered.FAILED and done.detail == "$NOTIFY_TEST_URL is not set"
    with receiver() as hook:  # a declared secret that is missing: never sent unsigned
        signed = {"audit": _target(secret_env="NOTIFY_TEST_SECRET")}
        env = {"NOTIFY_TEST_URL": hook.url}
        [done] = deliver.send(_event(), signed, tmp_path / "l.jsonl", env)
    assert done.outcome == Delivered.FAILED and done.detail == "$NOTIFY_TEST_SECRET is not set"
    assert hook.seen == []


# ------------------------------------------------------------------------------------- the config
def _targets(spec: str) -> list[str]:
    return ["+experiment=churn_baseline", f"+notify.targets={spec}"]


@pytest.mark.parametrize(
    ("spec", "key"),
    [
        pytest.param("{a:{url_env:X,kind:sms}}", "notify.targets.a.kind", id="kind"),
        pytest.param("{a:{url_env:X,events:[nope]}}", "notify.targets.a.events", id="event"),
        pytest.param("{a:{url_env:'https://hooks.x/y'}}", "notify.targets.a.url_env", id="url"),
        pytest.param("{a:{url_env:X,secret_env:'s3cr3t!'}}", "notify.targets.a.secret_env", id="s"),
        pytest.param("{a:{url_env:X,attempts:0}}", "notify.targets.a.attempts", id="attempts"),
    ],
)
def test_a_bad_target_is_refused_by_key(tmp_path: Path, spec: str, key: str) -> None:
    from mlplat.pipeline.compose import compose

    root = make_project(tmp_path / "proj", rows=200)
    with pytest.raises(ConfigError) as err:
        compose(root, _targets(spec))
    assert err.value.key == key


def test_notify_stays_out_of_the_config_hash(tmp_path: Path) -> None:
    from mlplat.core.provenance import config_hash
    from mlplat.pipeline.compose import compose

    root = make_project(tmp_path / "proj", rows=200)
    plain = compose(root, ["+experiment=churn_baseline"])
    told = compose(root, _targets("{a:{url_env:X,kind:slack}}"))
    assert told.notify.targets["a"].kind == "slack" and plain.notify.targets == {}
    assert config_hash(plain) == config_hash(told)


# ----------------------------------------------------------------------------- mlplat notify test
def _declare(root: Path, targets: dict[str, Any], **extra: Any) -> None:
    path = root / "conf" / "notify" / "default.yaml"
    path.write_text(yaml.safe_dump({"targets": targets, **extra}))


def test_notify_test_sends_and_says_so(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj", rows=200)
    _declare(
        root,
        {
            "audit": {"url_env": "AUDIT_URL", "secret_env": "AUDIT_SECRET"},
            "down": {"url_env": "DOWN_URL", "attempts": 2, "backoff_seconds": 0.05},
        },
    )
    unknown = mlplat("notify", "test", "audti", cwd=root)
    assert unknown.returncode == 2
    assert "no notification target 'audti'; declared: audit, down" in unknown.stderr
    unset = mlplat("notify", "test", "audit", cwd=root)
    assert unset.returncode == 2 and "$AUDIT_URL is not set" in unset.stderr
    with receiver(script=(503, 503)) as down, receiver() as hook:
        env = {"AUDIT_URL": hook.url, "AUDIT_SECRET": SECRET, "DOWN_URL": down.url}
        sent = mlplat("notify", "test", "audit", cwd=root, env=env)
        failed = mlplat("notify", "test", "down", "--json", cwd=root, env=env)
    assert sent.returncode == 0, sent.stderr
    assert "delivered to 'audit' (HTTP 200, 1 attempt(s))" in sent.stdout
    [(headers, body)] = hook.seen
    assert headers["webhook-signature"] == _standard_signature(SECRET, headers, body)
    assert json.loads(body)["type"] == "test"
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["detail"] == "HTTP 503 after 2 attempt(s)"
    ledger = (root / ".mlplat" / "notify" / "ledger.jsonl").read_text()
    assert SECRET not in ledger and URL_TOKEN not in ledger
    assert [x["target"] for x in map(json.loads, ledger.splitlines())] == ["audit", "down", "down"]


# --------------------------------------------------------------------------- mlplat notify listen
def _mlflow_signed(body: bytes, secret: str, stamp: int | None = None) -> dict[str, str]:
    """The headers MLflow 3.17 sends (mlflow/webhooks/delivery.py), written out here."""
    delivery, stamp_text = str(uuid.uuid4()), str(int(stamp or time.time()))
    signed = f"{delivery}.{stamp_text}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return {
        "Content-Type": "application/json",
        "X-MLflow-Delivery-Id": delivery,
        "X-MLflow-Timestamp": stamp_text,
        "X-MLflow-Signature": "v1," + base64.b64encode(digest).decode(),
    }


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, body, headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _created(name: str = "telco-churn-lgbm", version: str = "4") -> bytes:
    data = {"name": name, "version": version, "source": "models:/m-1", "run_id": "r1"}
    message = {"entity": "model_version", "action": "created", "timestamp": "t", "data": data}
    return json.dumps(message).encode()


@contextmanager
def _listening(root: Path, env: dict[str, str]) -> Iterator[str]:
    command = [*MLPLAT, "notify", "listen", "--port", "0"]
    full_env = {**os.environ, **env}
    full_env.pop("MLFLOW_TRACKING_URI", None)
    process = subprocess.Popen(
        command,
        cwd=root,
        env=full_env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert "listening for MLflow registry webhooks on" in line, line
        yield line.split(" on ")[1].split()[0]
    finally:
        process.terminate()
        process.wait(30)


@pytest.mark.slow
def test_notify_listen_refuses_a_wrong_signature_and_fans_out_a_right_one(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj", rows=200)
    _declare(root, {"audit": {"url_env": "AUDIT_URL", "secret_env": "AUDIT_SECRET"}})
    unset = mlplat("notify", "listen", "--port", "0", cwd=root)
    assert unset.returncode == 2 and "$MLPLAT_LISTEN_SECRET is not set" in unset.stderr
    with receiver() as hook:
        env = {"AUDIT_URL": hook.url, "AUDIT_SECRET": SECRET, "MLPLAT_LISTEN_SECRET": LISTEN_SECRET}
        with _listening(root, env) as url:
            body = _created()
            wrong = _post(url, body, _mlflow_signed(body, "not-the-secret"))
            stale = _post(url, body, _mlflow_signed(body, LISTEN_SECRET, int(time.time()) - 3600))
            forged = _post(url, _created(version="5"), _mlflow_signed(body, LISTEN_SECRET))
            unsigned = _post(url, body, {"Content-Type": "application/json"})
            assert hook.seen == []
            right = _post(url, body, _mlflow_signed(body, LISTEN_SECRET))
    assert wrong == (401, {"message": "wrong signature", "deliveries": []})
    assert stale[0] == 401 and "a replay?" in stale[1]["message"]
    assert forged[0] == 401 and unsigned[0] == 401
    assert right[0] == 200
    assert right[1]["deliveries"] == [{"target": "audit", "outcome": "sent", "detail": ""}]
    [(headers, sent)] = hook.seen
    assert headers["webhook-signature"] == _standard_signature(SECRET, headers, sent)
    assert json.loads(sent)["data"]["title"] == "telco-churn-lgbm v4 registered"


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[str]:
    """In CI, the PostgreSQL-backed tracking server .ci/services.sh starts; elsewhere `mlflow
    server` on 127.0.0.1 with a sqlite store (webhooks need a SQL store). Both are allowed to
    deliver webhooks over http to a private address (MLflow refuses both by default)."""
    shared = os.environ.get("MLPLAT_TEST_TRACKING_URI")
    if shared:
        yield shared
        return
    env = {
        "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https",
        "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
    }
    with start_mlflow_server(tmp_path / "server", env=env) as url:
        yield url


def _wait(check: Any, what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_a_real_mlflow_server_reaches_people_through_notify_listen(
    mlflow_server: str, tmp_path: Path
) -> None:
    """The webhook is registered through MlflowClient; MLflow itself signs and delivers the
    registry events to `mlplat notify listen`, which tells the targets."""
    from mlflow import MlflowClient

    root = make_project(tmp_path / "proj", rows=200)
    (root / "conf" / "tracking" / "default.yaml").write_text(f"uri: {mlflow_server}\n")
    _declare(root, {"audit": {"url_env": "AUDIT_URL", "secret_env": "AUDIT_SECRET"}})
    client = MlflowClient(mlflow_server)
    name = f"churn-hooked-{uuid.uuid4().hex[:8]}"  # CI's server is shared by the whole suite
    with receiver() as hook:
        env = {"AUDIT_URL": hook.url, "AUDIT_SECRET": SECRET, "MLPLAT_LISTEN_SECRET": LISTEN_SECRET}
        with _listening(root, env) as url:
            hooked = client.create_webhook(
                f"mlplat-listen-{name}",
                url,
                ["model_version.created", "model_version_alias.created"],
                secret=LISTEN_SECRET,
            )
            try:
                run = client.create_run(client.create_experiment(name)).info.run_id
                client.create_registered_model(name)
                client.create_model_version(name, f"runs:/{run}/model", run_id=run)
                _wait(lambda: len(hook.seen) >= 1, "the version's event")
                client.set_registered_model_alias(name, "champion", "1")
                _wait(lambda: len(hook.seen) >= 2, "the alias event")
            finally:
                client.delete_webhook(hooked.webhook_id)
    kinds = [b["type"] for b in hook.bodies()]
    assert kinds == ["version_registered", "alias_moved"]
    moved = hook.bodies()[1]["data"]
    assert moved["title"] == f"{name}@champion set to v1 outside mlplat"
    for headers, body in hook.seen:
        assert headers["webhook-signature"] == _standard_signature(SECRET, headers, body)


# ------------------------------------------------------------ events from runs, promote, rollback
FAST = ("+experiment=churn_baseline", "model.num_boost_round=20", "segments=none")


def _recorded(root: Path) -> list[str]:
    """Every param and tag of every run, every version and model tag, in the project's store."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri(root))
    found: list[str] = []
    for experiment in client.search_experiments():
        for run in client.search_runs([experiment.experiment_id]):
            found += [*run.data.params.values(), *run.data.tags.values()]
            found += list(run.data.params) + list(run.data.tags)
    for model in client.search_registered_models():
        found += [*model.tags.values(), model.description or ""]
        for version in client.search_model_versions(f"name='{model.name}'"):
            found += [*version.tags.values(), version.description or ""]
    return found


def _files_holding(root: Path, needle: bytes) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def _alias_set(listener: Any, version: str) -> Any:
    """An MLflow `model_version_alias.created` for champion, signed as MLflow signs it."""
    data = {"name": "telco-churn-lgbm", "alias": "champion", "version": version}
    message = {"entity": "model_version_alias", "action": "created", "timestamp": "t"}
    body = json.dumps({**message, "data": data}).encode()
    return listener.hear(_mlflow_signed(body, LISTEN_SECRET), body)


@pytest.mark.slow
def test_runs_promotions_and_rollbacks_tell_the_targets_and_no_secret_leaks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient

    from mlplat.ops.notify import listener
    from mlplat.tracking import aliases

    root = make_project(tmp_path / "proj")
    _declare(
        root,
        {
            "audit": {"url_env": "AUDIT_URL", "secret_env": "AUDIT_SECRET"},
            "team": {"kind": "slack", "url_env": "TEAM_URL", "events": ["gates_failed"]},
            "broken": {"url_env": "BROKEN_URL", "attempts": 2, "backoff_seconds": 0.05},
        },
    )
    with receiver() as hook, receiver() as team, receiver(script=(500,) * 100) as broken:
        env = {
            "AUDIT_URL": hook.url,
            "AUDIT_SECRET": SECRET,
            "TEAM_URL": team.url,
            "BROKEN_URL": broken.url,
        }
        first = mlplat("run", *FAST, cwd=root, env=env)
        assert first.returncode == 0, first.stderr[-3000:]
        failing = mlplat("run", *FAST, "gates.floors.auc=0.999", cwd=root, env=env)
        assert failing.returncode == 1, failing.stderr[-3000:]
        promoted = mlplat(
            "promote", "telco-churn-lgbm", "2", "--reason", "by hand", cwd=root, env=env
        )
        assert promoted.returncode == 0, promoted.stderr
        back = mlplat("rollback", "telco-churn-lgbm", cwd=root, env=env)
        assert back.returncode == 0, back.stderr
        # what `mlplat notify listen` hears from MLflow: mlplat's own rollback (told already),
        # then champion set in the MLflow UI (told, with the card diff from the last champion)
        for name, value in {**env, "MLPLAT_LISTEN_SECRET": LISTEN_SECRET}.items():
            monkeypatch.setenv(name, value)
        hears = listener(root, [])
        own = _alias_set(hears, "1")
        MlflowClient(tracking_uri(root)).set_registered_model_alias(
            "telco-churn-lgbm", "champion", "2"
        )
        outside = _alias_set(hears, "2")
        # the outside move entered the alias history, so the old champion set back from
        # outside is told as well (it is not mistaken for mlplat's own rollback to v1)
        recorded = aliases.history(hears.tracker, "telco-churn-lgbm")[-1]
        MlflowClient(tracking_uri(root)).set_registered_model_alias(
            "telco-churn-lgbm", "champion", "1"
        )
        returned = _alias_set(hears, "1")
    assert own.status == 200 and own.deliveries == ()
    assert (recorded.action, recorded.version, recorded.previous) == ("outside", "2", "1")
    assert recorded.by == "outside mlplat"
    assert [d.target for d in returned.deliveries] == ["audit", "broken"]
    assert [(d.target, d.outcome) for d in outside.deliveries] == [
        ("audit", Delivered.SENT),
        ("broken", Delivered.FAILED),
    ]
    # a receiver that fails never fails the run; the run's summary names it
    summary = " ".join(first.stdout.split())  # the table wraps its value column at 80
    assert (
        "warning notification 'broken' (version_registered) not delivered: HTTP 500 after 2 "
        "attempt(s)"
    ) in summary
    assert "warning: notification 'broken' (champion_promoted) not delivered" in promoted.stderr
    kinds = [(b["type"], b["data"]["version"]) for b in hook.bodies()]
    assert kinds == [
        ("version_registered", "1"),
        ("champion_promoted", "1"),  # the first champion, by the gates
        ("version_registered", "2"),
        ("gates_failed", "2"),
        ("champion_promoted", "2"),  # by hand
        ("champion_rolled_back", "1"),
        ("alias_moved", "2"),
        ("alias_moved", "1"),
    ]
    for headers, body in hook.seen:
        assert headers["webhook-signature"] == _standard_signature(SECRET, headers, body)
    events = [b["data"] for b in hook.bodies()]
    assert events[0]["link"].endswith("/card/card.md")
    assert events[0]["facts"]["card"] == "mlplat card --model models:/telco-churn-lgbm/1"
    failed = events[3]
    assert failed["summary"].startswith("floor overall auc: 0.")  # which gate, by how much
    assert ", bound 0.999 (-0." in failed["summary"]
    by_hand = events[4]
    assert "by hand" in by_hand["summary"] and "auc " in by_hand["summary"]  # the card diff
    assert by_hand["link"] == (
        "mlplat card diff --from models:/telco-churn-lgbm/1 --to models:/telco-churn-lgbm/2"
    )
    assert events[5]["title"] == "telco-churn-lgbm@champion rolled back to v1 (was v2)"
    assert events[6]["title"] == "telco-churn-lgbm@champion set to v2 outside mlplat"
    moved = events[6]["summary"]  # with the card diff from v1
    assert moved.startswith("Last champion recorded by mlplat: v1.\n") and "\nauc " in moved
    [slack] = team.bodies()  # it asked for gates_failed only
    assert slack["blocks"][0]["text"]["text"] == "telco-churn-lgbm v2 failed 1 gate(s)"
    assert {b["data"]["id"] for b in hook.bodies()} == {
        json.loads(line)["event"]
        for line in (root / ".mlplat/notify/ledger.jsonl").read_text().splitlines()
        if json.loads(line)["target"] == "audit"
    }
    # no secret and no URL in any output, param, tag, description, card, ledger or file
    logs = "".join(d.stdout + d.stderr for d in (first, failing, promoted, back))
    for needle in (SECRET, URL_TOKEN):
        assert needle not in logs
        assert not [v for v in _recorded(root) if needle in v]
        assert _files_holding(root, needle.encode()) == []  # mlruns/ holds the cards too
    assert list(root.rglob("card.md")), "the cards were scanned"


@pytest.mark.slow
def test_budget_monitor_score_and_retrain_raise_their_events(tmp_path: Path) -> None:
    import numpy as np
    import pandas as pd

    root = make_project(tmp_path / "proj")
    wanted = ["budget_exceeded", "drift_breach", "score_below_min", "retrain_triggered"]
    _declare(
        root, {"audit": {"url_env": "AUDIT_URL", "secret_env": "AUDIT_SECRET", "events": wanted}}
    )
    shifted = pd.read_csv(root / "data" / "churn.csv").sample(1500, random_state=7)
    shifted["monthly_charges"] = shifted["monthly_charges"] * 1.6
    shifted["plan"] = np.where(np.arange(len(shifted)) % 4 == 0, "gold", shifted["plan"])
    shifted.to_csv(root / "shifted.csv", index=False)
    warn = ("budget.max_wall_seconds.limit=0.001", "budget.max_wall_seconds.policy=warn")
    model = "models:/telco-churn-lgbm@champion"
    with receiver() as hook:
        env = {"AUDIT_URL": hook.url, "AUDIT_SECRET": SECRET}
        ran = mlplat("run", *FAST, *warn, cwd=root, env=env)
        assert ran.returncode == 0, ran.stderr[-3000:]
        drifted = mlplat("monitor", "--model", model, "--current", "shifted.csv", cwd=root, env=env)
        assert drifted.returncode == 1, drifted.stderr[-3000:]
        scored = mlplat("score", "--min-score", "100", cwd=root, env=env)
        assert scored.returncode == 1, scored.stderr[-3000:]
        again = mlplat("retrain", *FAST, cwd=root, env=env)
        assert again.returncode == 0, again.stderr[-3000:]
    events = {b["type"]: b["data"] for b in hook.bodies()}
    assert list(events) == wanted  # in that order, each once, and nothing it did not ask for
    for headers, body in hook.seen:
        assert headers["webhook-signature"] == _standard_signature(SECRET, headers, body)
    assert "max_wall_seconds (warn)" in events["budget_exceeded"]["title"]
    assert "drift.psi[monthly_charges]" in events["drift_breach"]["summary"]
    assert events["drift_breach"]["model"] == "telco-churn-lgbm"
    assert events["score_below_min"]["facts"]["minimum"] == "100"
    assert events["retrain_triggered"]["summary"] == "requested (no --if-drift)"


@pytest.mark.slow
def test_an_online_decision_is_told(tmp_path: Path) -> None:
    from tests.online.test_online_decide import ONLY_PLAN, simulate
    from tests.serving_support import two_versions

    root = two_versions(tmp_path / "proj")
    _declare(root, {"audit": {"url_env": "AUDIT_URL", "events": ["online_decision"]}})
    simulate(root, gap=0.35)
    with receiver() as hook:
        decided = mlplat("online", "decide", ONLY_PLAN, cwd=root, env={"AUDIT_URL": hook.url})
    assert decided.returncode == 0, decided.stderr[-3000:]
    [body] = hook.bodies()
    assert body["type"] == "online_decision" and body["data"]["facts"]["verdict"] == "promote"
    assert body["data"]["version"] == "2"
    assert "telco-churn-lgbm@champion -> v2" in body["data"]["summary"]
