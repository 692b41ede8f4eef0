"""Delivery: one POST per target with a timeout, retried with exponential backoff on 429, 5xx,
timeouts and refused connections, every attempt appended to the project's ledger (JSON lines),
and at most one successful delivery per (event id, target), which the ledger remembers.

Nothing here raises for a receiver that fails: the caller gets a `Delivery` per target and says
so. URLs and secrets come from the environment at send time and are never written anywhere; the
ledger names the target, not its URL (a Slack or Teams URL is a credential).
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from mlplat.core.config.notify import TargetConfig
from mlplat.core.notify import payload
from mlplat.core.notify.event import Event, now
from mlplat.core.vocabulary import Delivered, NotifyEvent, NotifyKind

RETRIED = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 30.0  # seconds: a receiver's Retry-After is honoured up to this


@dataclass(frozen=True)
class Attempt:
    """One ledger line."""

    at: str
    event: str  # the event id (the webhook-id header)
    type: str  # the event kind
    target: str
    attempt: int
    status: int | None  # the HTTP status; None: no answer (timeout, refused)
    latency_ms: int
    error: str | None = None


@dataclass(frozen=True)
class Delivery:
    target: str
    event: str
    outcome: Delivered
    attempts: int = 0
    status: int | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome != Delivered.FAILED

    def line(self, kind: NotifyEvent) -> str:
        """What a run's summary says about a failed one."""
        return f"notification '{self.target}' ({kind.value}) not delivered: {self.detail}"


def wants(target: TargetConfig, kind: NotifyEvent) -> bool:
    return kind == NotifyEvent.TEST or not target.events or kind.value in target.events


def sent_before(ledger: Path, event_id: str) -> set[str]:
    """Targets the ledger shows `event_id` delivered to (a torn last line is skipped)."""
    if not ledger.is_file():
        return set()
    found = set()
    for line in ledger.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        status = entry.get("status")
        if entry.get("event") == event_id and isinstance(status, int) and 200 <= status < 300:
            found.add(entry.get("target"))
    return found


def record(ledger: Path, attempt: Attempt) -> None:
    """Append one line; a single small write on an O_APPEND file does not interleave."""
    ledger.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(asdict(attempt), sort_keys=True) + "\n"
    with ledger.open("a", encoding="utf-8") as out:
        out.write(line)


def send(
    event: Event,
    targets: Mapping[str, TargetConfig],
    ledger: Path,
    env: Mapping[str, str] | None = None,
) -> tuple[Delivery, ...]:
    """Deliver `event` to every target that wants it; one `Delivery` each."""
    env = os.environ if env is None else env
    wanted = {name: t for name, t in targets.items() if wants(t, event.kind)}
    if not wanted:
        return ()
    before = sent_before(ledger, event.id)
    return tuple(
        Delivery(name, event.id, Delivered.ALREADY, detail="delivered before (ledger)")
        if name in before
        else _deliver(event, name, target, ledger, env)
        for name, target in wanted.items()
    )


def _deliver(
    event: Event, name: str, target: TargetConfig, ledger: Path, env: Mapping[str, str]
) -> Delivery:
    url = env.get(target.url_env, "")
    secret = env.get(target.secret_env, "") if target.secret_env else ""
    for variable, value in ((target.url_env, url), (target.secret_env, secret)):
        if variable and not value:  # a declared secret that is missing: never sent unsigned
            return Delivery(name, event.id, Delivered.FAILED, detail=f"${variable} is not set")
    kind = NotifyKind(target.kind)
    content = payload.body(kind, event)
    status: int | None = None
    detail = ""
    for attempt in range(1, target.attempts + 1):
        signed = payload.headers(event, content, str(int(time.time())), secret or None)
        sent = time.monotonic()
        status, detail, retry_after = _post(url, content, signed, target.timeout_seconds)
        detail = detail.replace(url, f"${target.url_env}")  # an error may quote the URL
        latency = round((time.monotonic() - sent) * 1000)
        kind_name = event.kind.value
        line = Attempt(now(), event.id, kind_name, name, attempt, status, latency, detail or None)
        record(ledger, line)
        if status is not None and 200 <= status < 300:
            return Delivery(name, event.id, Delivered.SENT, attempt, status)
        if status is not None and status not in RETRIED:
            break  # the receiver refused this message: sending it again would not help
        if attempt < target.attempts:
            time.sleep(_backoff(target.backoff_seconds, attempt, retry_after))
    return Delivery(
        name, event.id, Delivered.FAILED, attempt, status, f"{detail} after {attempt} attempt(s)"
    )


def _backoff(base: float, attempt: int, retry_after: float | None) -> float:
    wait = base * 2 ** (attempt - 1)
    return min(max(wait, retry_after or 0.0), MAX_RETRY_AFTER)


def _post(
    url: str, content: bytes, headers: dict[str, str], timeout: float
) -> tuple[int | None, str, float | None]:
    """(status, what went wrong, Retry-After seconds); never raises for the network."""
    import mlplat

    request = urllib.request.Request(
        url, content, {**headers, "user-agent": f"mlplat/{mlplat.__version__}"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            answer.read()
            return answer.status, "", None
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}", _seconds(exc.headers.get("retry-after"))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"no answer ({type(reason).__name__}: {reason})"[:200], None


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None  # an HTTP date: the backoff decides
