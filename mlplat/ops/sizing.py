"""`mlplat profile`: what a model needs in production, measured on representative rows.

Latency is measured in process on the server's own request path (`mlplat.serving.scoring.answer`:
parsing a JSON `dataframe_split` body, input validation, compiled features, LightGBM, the
response body and the metrics), per batch size; it excludes the HTTP round trip, which
`mlplat bench` measures against a server. A call the server would answer with an error is
counted as one, with the status and message: a model that errors cannot meet its SLO.
The recommendation sizes a deployment against `serving.slo`: enough single-row workers for
`min_qps` at 70% utilisation (from the mean one-row latency), one CPU per worker (prediction is
CPU bound), and the measured peak resident memory per worker plus 25% headroom.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core.cost import Sampler
from mlplat.core.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from mlplat.core.config.ops import SloConfig
    from mlplat.serving.metrics import Metrics
    from mlplat.serving.model import ServedModel
    from mlplat.serving.scoring import Target

BATCH_SIZES = (1, 10, 100, 1000)
UTILISATION = 0.7
HEADROOM = 1.25


@dataclass(frozen=True)
class BatchLatency:
    batch: int
    calls: int
    p50_ms: float
    p99_ms: float
    rows_per_second: float
    errors: int = 0  # calls the server would have answered with an error status
    error: str | None = None  # the first one: status and message


@dataclass(frozen=True)
class Recommendation:
    """A deployment sized against `serving.slo` (echoed in `slo`: p99_ms, min_qps)."""

    workers: int
    cpu: int
    memory_mb: int
    qps_per_worker: float
    p99_ms: float
    meets_p99: bool
    slo: dict[str, float]


@dataclass(frozen=True)
class DeploymentProfile:
    """`mlplat profile`'s result; `logged`: None until logging was tried."""

    model: str
    run_id: str | None
    bundle_sha256: str
    rows_in_file: int
    batches: tuple[BatchLatency, ...]
    peak_rss_mb: float
    recommendation: Recommendation
    logged: bool | None = None

    def to_json(self) -> dict[str, Any]:
        """The shape of `--json` and of profile/deployment.json (logged before `logged` is known,
        so without it)."""
        shape = asdict(self) | {"batches": [asdict(b) for b in self.batches]}
        if self.logged is None:
            del shape["logged"]
        return shape


@dataclass(frozen=True)
class Loaded:
    served: ServedModel
    run_id: str | None
    uri: str


def load_model(model: str, tracking_uri: str | None) -> Loaded:
    """A bundle directory or models:/NAME@ALIAS|/VERSION (downloads the registered bundle),
    loaded exactly as `mlplat serve` loads it (checksums, compile, smoke prediction)."""
    from mlplat.serving.model import load_model as load_served
    from mlplat.serving.source import make_source

    source = make_source(model, tracking_uri)
    resolved = source.resolve()
    served = load_served(source.fetch(resolved), resolved.version, model, max(BATCH_SIZES))
    return Loaded(served, resolved.run_id or served.bundle.metadata.get("run_id"), model)


def batch_body(frame: pd.DataFrame, size: int) -> bytes:
    """`size` rows of the file (drawn with replacement when it has fewer), seeded, as the
    server receives them: a JSON `dataframe_split` body."""
    if frame.empty:
        raise ConfigError("the data file has no rows to profile with", key="--data")
    rows = frame.sample(n=size, replace=len(frame) < size, random_state=0)
    body = rows.to_json(orient="split", index=False, date_format="iso")
    return ('{"dataframe_split": ' + body + "}").encode()


def call(served: ServedModel, target: Target, body: bytes, metrics: Metrics) -> str | None:
    """One request on the server's path; None, or how the server would have failed it."""
    from mlplat.serving.errors import InputError
    from mlplat.serving.payloads import Protocol
    from mlplat.serving.scoring import answer

    try:
        answer(served, target, Protocol.MLFLOW, "application/json", body, metrics)
    except InputError as exc:
        return f"{exc.status} {exc.describe()}"
    except Exception as exc:  # the server answers anything else with a 500
        return f"500 {type(exc).__name__}: {exc}"
    return None


def measure(
    served: ServedModel, body: bytes, rows: int, seconds: float, min_calls: int = 20
) -> BatchLatency:
    """Time calls on one batch for about `seconds` (>= `min_calls`, after a warm-up)."""
    import numpy as np

    from mlplat.serving.metrics import Metrics
    from mlplat.serving.scoring import Target

    metrics, target = Metrics(), Target.of(served.bundle)
    first = call(served, target, body, metrics)
    if first is not None:  # it would fail every time: nothing to time
        return BatchLatency(rows, 1, math.nan, math.nan, math.nan, 1, first)
    times: list[float] = []
    errors: list[str] = []
    deadline = time.perf_counter() + seconds
    while len(times) + len(errors) < min_calls or time.perf_counter() < deadline:
        started = time.perf_counter()
        failed = call(served, target, body, metrics)
        if failed is None:
            times.append(time.perf_counter() - started)
        else:
            errors.append(failed)
    if not times:
        return BatchLatency(rows, len(errors), math.nan, math.nan, math.nan, len(errors), errors[0])
    p50, p99 = (float(v) * 1000 for v in np.percentile(times, [50, 99]))
    error = errors[0] if errors else None
    rate = rows / float(np.mean(times))
    return BatchLatency(rows, len(times) + len(errors), p50, p99, rate, len(errors), error)


def recommend(latencies: list[BatchLatency], peak_rss_mb: float, slo: SloConfig) -> Recommendation:
    """Workers, CPUs and memory to request so one-row requests meet the SLO."""
    single = min(latencies, key=lambda b: b.batch)
    qps_per_worker = single.rows_per_second  # from the mean latency: the tail costs capacity too
    if not qps_per_worker > 0:  # NaN: one-row requests fail, there is nothing to size
        qps_per_worker = math.inf
    workers = max(1, math.ceil(slo.min_qps / (qps_per_worker * UTILISATION)))
    memory_mb = workers * math.ceil(peak_rss_mb * HEADROOM / 64) * 64
    return Recommendation(
        workers=workers,
        cpu=workers,
        memory_mb=memory_mb,
        qps_per_worker=round(qps_per_worker, 1),
        p99_ms=round(single.p99_ms, 3),
        # NaN (nothing timed) compares False: a model whose requests fail never meets its SLO
        meets_p99=single.p99_ms <= slo.p99_ms and not any(b.errors for b in latencies),
        slo={"p99_ms": slo.p99_ms, "min_qps": slo.min_qps},
    )


def profile(
    loaded: Loaded, frame: pd.DataFrame, slo: SloConfig, seconds: float
) -> DeploymentProfile:
    with Sampler(interval=0.02) as sampler:
        bodies = [batch_body(frame, n) for n in BATCH_SIZES]
        latencies = [
            measure(loaded.served, body, n, seconds)
            for body, n in zip(bodies, BATCH_SIZES, strict=True)
        ]
    peak = sampler.usage.peak_rss_mb
    return DeploymentProfile(
        model=loaded.uri,
        run_id=loaded.run_id,
        bundle_sha256=loaded.served.bundle.sha256,
        rows_in_file=len(frame),
        batches=tuple(latencies),
        peak_rss_mb=round(peak, 1),
        recommendation=recommend(latencies, peak, slo),
    )


def errors(report: DeploymentProfile) -> list[str]:
    """One line per batch size whose calls failed: how many, and the first failure."""
    return [
        f"{b.batch}-row batches: {b.errors} of {b.calls} calls failed: {b.error}"
        for b in report.batches
        if b.errors
    ]


def metrics(report: DeploymentProfile) -> dict[str, float]:
    out = {"profile.peak_rss_mb": float(report.peak_rss_mb)}
    for b in report.batches:
        for key in ("p50_ms", "p99_ms", "rows_per_second"):
            out[f"profile.batch_{b.batch}.{key}"] = float(getattr(b, key))
    rec = report.recommendation
    out.update(
        {
            f"profile.recommended.{k}": float(getattr(rec, k))
            for k in ("workers", "cpu", "memory_mb")
        }
    )
    return out


def log(report: DeploymentProfile, tracking_uri: str | None) -> bool:
    """On the model's own run: metrics `profile.*` and profile/deployment.json. A profile with
    failed calls is not logged: its figures describe errors, not the model."""
    if not report.run_id or not tracking_uri or errors(report):
        return False
    from mlplat.tracking.tracker import Tracker

    client = Tracker(tracking_uri).client
    for key, value in metrics(report).items():
        client.log_metric(report.run_id, key, value)
    client.log_dict(report.run_id, report.to_json(), "profile/deployment.json")
    return True


def run_profile(
    project: Path, model: str, data: str, overrides: list[str], seconds: float
) -> DeploymentProfile:
    from mlplat.core import dataio
    from mlplat.pipeline.compose import compose
    from mlplat.tracking.runs import tracking_uri

    cfg = compose(project, overrides)
    dataio.check_source(data, key="--data")
    uri = tracking_uri(cfg, project)
    loaded = load_model(model, uri)
    frame = dataio.load(cfg.data, data).drop(columns=[cfg.data.target], errors="ignore")
    report = profile(loaded, frame, cfg.serving.slo, seconds)
    return replace(report, logged=log(report, uri))
