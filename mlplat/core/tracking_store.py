"""The tracking store's address as it may be shown, and how long MLflow may spend reaching it.

A tracking URI can carry credentials (`https://user:token@host`, `?token=...`): they must never
land in MLflow params or tags, logs or error messages. `redact` gives the form that may be shown;
`remember` records a URI's secrets so that `scrub` can take them out of any text (an MLflow error
quotes the URL it called, credentials included).

MLflow's HTTP client retries a failed request 7 times with a backoff factor of 2: about four
minutes before an unreachable server is reported. `apply_limits` sets MLflow's own variables from
the declared `tracking` keys, for this process and the ones it starts.

Serving and training both use this module (it imports neither MLflow nor anything heavy).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlsplit

from mlplat.core.errors import TrackingStoreError

if TYPE_CHECKING:
    from mlplat.core.config.ops import TrackingConfig

MASK = "***"
# query parameters whose values are credentials (pre-signed URLs, tokens, passwords)
SECRET_PARAM = re.compile(r"token|secret|passw|pwd|key|sig|credential|auth|session", re.I)
MIN_SECRET = 4  # shorter values alone are not scrubbed from any text: "ab" would mangle words
_known: dict[str, str] = {}  # text to mask -> what replaces it


def default_uri(project: Path) -> str:
    """Where runs go when the config names no store: $MLFLOW_TRACKING_URI, else the embedded
    sqlite store in the project (MLflow's own order, with a project-local default)."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{project / 'mlflow.db'}"


def _secret_params(query: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if SECRET_PARAM.search(k)]


def redact(uri: str) -> str:
    """`uri` with its credentials masked: `http://***@host:5000`, `...?token=***`."""
    parts = urlsplit(uri)
    userinfo = parts.netloc.rpartition("@")[0]
    shown = uri.replace(f"{userinfo}@", f"{MASK}@", 1) if userinfo else uri
    for name, _ in _secret_params(parts.query):
        shown = re.sub(rf"([?&;]{re.escape(name)}=)[^&;#]*", rf"\g<1>{MASK}", shown)
    return shown


def secrets(uri: str) -> set[str]:
    """The credentials in `uri`, as written and percent-decoded: user info, password, secret
    query values."""
    parts = urlsplit(uri)
    userinfo = parts.netloc.rpartition("@")[0]
    found = [v for _, v in _secret_params(parts.query)]
    if userinfo:
        found += [userinfo, userinfo.partition(":")[2]]
    return {s for raw in found for s in (raw, unquote(raw)) if s}


def remember(uri: str) -> None:
    """Record `uri`'s credentials for `scrub` (error messages, logged text) in this process."""
    if redact(uri) != uri:
        _known[uri] = redact(uri)
    _known.update({s: MASK for s in secrets(uri) if len(s) >= MIN_SECRET})


def scrub(text: str) -> str:
    """`text` with the URIs and credentials `remember` recorded masked."""
    for secret in sorted(_known, key=len, reverse=True):  # a whole URI before its parts
        text = text.replace(secret, _known[secret])
    return text


# MLflow's variables for its HTTP client, by the `tracking` key that sets each
HTTP_LIMITS = {
    "request_timeout_seconds": "MLFLOW_HTTP_REQUEST_TIMEOUT",
    "max_retries": "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
    "backoff_factor": "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
}


def apply_limits(tracking: TrackingConfig, uri: str) -> None:
    """MLflow's HTTP timeout and retry budget from the declared keys; `uri`'s credentials
    remembered; and MLflow's own "View run at <url>" line, which prints the URL with its
    credentials, turned off for a URI that has some."""
    for key, variable in HTTP_LIMITS.items():
        os.environ[variable] = str(getattr(tracking, key))
    remember(uri)
    if secrets(uri):
        os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"


def default_limits(uri: str) -> None:
    """The `tracking` defaults as MLflow's HTTP budget where nothing set one (a command with no
    project config: serve, bench), so an unreachable store fails in seconds there too."""
    from mlplat.core.config.ops import TrackingConfig

    for key, variable in HTTP_LIMITS.items():
        os.environ.setdefault(variable, str(getattr(TrackingConfig(), key)))
    remember(uri)


def attempts(tracking: TrackingConfig) -> str:
    return f"{tracking.max_retries + 1} attempts, {tracking.request_timeout_seconds} s timeout each"


_REASON = re.compile(r"\[Errno -?\d+\] [^'\")\]]+|timed out|error code \d+|status code \d+", re.I)


def unreachable(uri: str, exc: BaseException, tracking: TrackingConfig) -> TrackingStoreError:
    """The error for a store MLflow could not use: its redacted URI, why (refused, timed out,
    an HTTP status) and the budget spent; never the credentials."""
    remember(uri)
    text = scrub(str(exc))
    found = _REASON.findall(text)
    reason = (
        found[-1].strip() if found else text.splitlines()[0][:300] if text else type(exc).__name__
    )
    where = "tracking.uri" if tracking.uri else None
    source = "" if where else " (from $MLFLOW_TRACKING_URI)"
    return TrackingStoreError(
        f"tracking store '{redact(uri)}'{source} cannot be used: {reason} ({attempts(tracking)}; "
        "tracking.request_timeout_seconds, tracking.max_retries)",
        key=where,
    )
