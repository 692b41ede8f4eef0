"""Prometheus metrics of one server process, in a registry of its own (tests run several apps)."""

from __future__ import annotations

import bisect
import collections
import itertools
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.utils import floatToGoString

if TYPE_CHECKING:
    from mlplat.serving.scoring import Scored

LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)
ROW_BUCKETS = (1, 2, 5, 10, 50, 100, 500, 1000, 5000, 10000, 100000)
SCORE_BUCKETS = tuple(i / 10 for i in range(1, 11))
SMALL = 16  # values per request below which a Python loop beats numpy's fixed cost


class BatchHistogram:
    """A histogram that takes a request's values at once: one numpy pass for a large request,
    not one `Histogram.observe` per row (100,000 of those cost a third of a second of GIL)."""

    def __init__(self, name: str, documentation: str, buckets: tuple[float, ...]) -> None:
        self.name, self.documentation = name, documentation
        self.edges = [*buckets, math.inf]
        self.counts = [0] * len(self.edges)
        self.sum = 0.0
        self.lock = threading.Lock()

    def observe(self, values: np.ndarray) -> None:
        counts, total = self._few(values) if len(values) <= SMALL else self._many(values)
        with self.lock:
            self.counts = [a + b for a, b in zip(self.counts, counts, strict=True)]
            self.sum += total

    def _few(self, values: np.ndarray) -> tuple[list[int], float]:
        """Bisect per value: for a few values numpy's per-call cost is the larger one."""
        counts, total = [0] * len(self.edges), 0.0
        for value in values.tolist():
            if value == value:  # NaN is in no bucket, as in `Histogram.observe`
                counts[bisect.bisect_left(self.edges, value)] += 1
                total += value
        return counts, total

    def _many(self, values: np.ndarray) -> tuple[list[int], float]:
        where = np.searchsorted(self.edges, values, side="left")  # NaN sorts past +Inf
        counts = np.bincount(where, minlength=len(self.edges) + 1)[: len(self.edges)]
        return counts.tolist(), float(np.nansum(values))

    def collect(self) -> Iterator[HistogramMetricFamily]:
        with self.lock:
            cumulative, total = list(itertools.accumulate(self.counts)), self.sum
        yield HistogramMetricFamily(
            self.name,
            self.documentation,
            buckets=[(floatToGoString(e), c) for e, c in zip(self.edges, cumulative, strict=True)],
            sum_value=total,
        )


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}
        self.requests = Counter(
            "mlplat_requests",
            "Requests by endpoint and HTTP status",
            ["endpoint", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "mlplat_request_latency_seconds",
            "Scoring latency (seconds)",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        # A plain int the event loop updates and the gauge reads when scraped: no lock per request.
        self.in_flight = 0
        Gauge(
            "mlplat_requests_in_flight", "Scoring requests being served", registry=r
        ).set_function(lambda: self.in_flight)
        self.rows = Histogram(
            "mlplat_payload_rows", "Rows per scoring request", buckets=ROW_BUCKETS, registry=r
        )
        self.predictions = BatchHistogram(
            "mlplat_prediction",
            "Predicted values: P(positive class), the top class's probability (multiclass) "
            "or the predicted value (regression)",
            SCORE_BUCKETS,
        )
        r.register(self.predictions)
        self.classes = Counter(
            "mlplat_predicted_class",
            "Rows by most probable class (multiclass models)",
            ["class"],
            registry=r,
        )
        self.model = Info("mlplat_model", "The model being served", registry=r)
        self.log_dropped = Counter(
            "mlplat_request_log_dropped",
            "Request-log records dropped because the queue was full",
            registry=r,
        )
        self.log_written = Counter(
            "mlplat_request_log_written", "Request-log records written", registry=r
        )
        self.reloads = Counter("mlplat_model_reloads", "Model versions swapped in", registry=r)
        self.reload_failures = Counter(
            "mlplat_model_reload_failures",
            "Model versions refused, by reason",
            ["reason"],
            registry=r,
        )
        self.ready = Gauge("mlplat_model_ready", "1 when /ready answers 200, else 0", registry=r)
        self.schema_changes = Counter(
            "mlplat_model_schema_changes",
            "Versions swapped in although their input schema breaks current clients "
            "(serving.schema_change=warn)",
            registry=r,
        )

    def count(self, endpoint: str, status: int, seconds: float) -> None:
        count(self._children, self.requests, self.latency, endpoint, status, seconds)

    def observe(self, scored: Scored) -> None:
        """A scored request: its size, its predictions and (multiclass) its predicted classes."""
        self.rows.observe(scored.rows)
        self.predictions.observe(scored.observed)
        if scored.labels is not None:
            for label, count in collections.Counter(scored.labels).items():
                self.classes.labels(label).inc(count)

    def set_model(self, info: dict[str, object]) -> None:
        self.model.info({k: "" if v is None else str(v) for k, v in info.items()})

    def render(self) -> bytes:
        return generate_latest(self.registry)


def count(
    children: dict[tuple[str, int], tuple[Any, Any]],
    requests: Counter,
    latency: Histogram,
    label: str,
    status: int,
    seconds: float,
) -> None:
    """Count one request in a counter by (label, status) and a histogram by label; the label
    lookups are cached in `children` (each takes a lock and a dict per call)."""
    key = (label, status)
    found = children.get(key)
    if found is None:
        found = children[key] = (requests.labels(label, str(status)), latency.labels(label))
    found[0].inc()
    found[1].observe(seconds)
