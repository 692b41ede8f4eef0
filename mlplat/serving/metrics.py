"""Prometheus metrics of one server process, in a registry of its own (tests run several apps)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest

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
        self.predictions = Histogram(
            "mlplat_prediction",
            "Distribution of predicted values",
            buckets=SCORE_BUCKETS,
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
        """Count one request; label lookups are cached (they take a lock and a dict per call)."""
        key = (endpoint, status)
        children = self._children.get(key)
        if children is None:
            children = (self.requests.labels(endpoint, str(status)), self.latency.labels(endpoint))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def observe_predictions(self, values: list[float]) -> None:
        observe = self.predictions.observe
        for value in values:
            observe(value)

    def set_model(self, info: dict[str, object]) -> None:
        self.model.info({k: "" if v is None else str(v) for k, v in info.items()})

    def render(self) -> bytes:
        return generate_latest(self.registry)
