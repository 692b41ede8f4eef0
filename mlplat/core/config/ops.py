"""Operational groups: budget, tracking, registry, serving, monitoring."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class LimitConfig:
    limit: float | None = None  # None: no limit
    policy: str = "fail"  # fail | warn | stop_early (stop_early: max_train_seconds only)


@dataclass
class SweepBudgetConfig:
    """Read by the `mlplat_optuna` sweeper: it stops launching trials once one is reached."""

    max_trials: int | None = None
    max_total_cost: float | None = None  # in `budget.currency`, summed over finished trials
    max_total_wall: float | None = None  # seconds since the sweep started


@dataclass
class BudgetConfig:
    currency: str = "USD"
    price_per_cpu_hour: float = 0.05
    price_per_gb_hour: float = 0.006  # per GB of peak resident memory, per hour of wall time
    price_per_gpu_hour: float = 0.0
    gpus: int = 0  # GPUs held for the whole run (billed on wall time)
    max_wall_seconds: LimitConfig = field(default_factory=LimitConfig)
    max_train_seconds: LimitConfig = field(default_factory=LimitConfig)
    max_peak_memory_mb: LimitConfig = field(default_factory=LimitConfig)
    max_money: LimitConfig = field(default_factory=LimitConfig)
    sweep: SweepBudgetConfig = field(default_factory=SweepBudgetConfig)


@dataclass
class TrackingConfig:
    uri: str | None = None  # None: $MLFLOW_TRACKING_URI, else sqlite:///<project>/mlflow.db
    experiment: str | None = None  # MLflow experiment; None: the mlplat experiment name
    run_name_pattern: str = "{experiment}-{model}-{timestamp}"
    # Where a NEW experiment keeps its artifacts, e.g. s3://bucket/mlflow (endpoint and keys from
    # MLFLOW_S3_ENDPOINT_URL / AWS_*); None: the store's default (a server's own destination).
    artifact_location: str | None = None


@dataclass
class RegistryConfig:
    domain: str = "project"
    model_name: str | None = None  # None: rendered from name_template
    name_template: str = "{domain}-{target}-{algorithm}"
    name_pattern: str = r"^[a-z][a-z0-9]*(-[a-z0-9_]+){2}$"
    register: bool = True


@dataclass
class SloConfig:
    p99_ms: float = 10.0
    min_qps: float = 100.0


@dataclass
class ServingConfig:
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    max_payload_bytes: int = 10_000_000
    max_batch_rows: int = 100_000  # rows per request; more is a 413
    poll_interval_seconds: float = 10.0  # how often the server re-resolves its registry alias
    request_log_dir: str | None = None  # None: no request log
    request_log_sample: float = 1.0  # share of requests logged
    request_log_queue_size: int = 10_000  # records waiting to be written; beyond it they drop
    request_log_rotate_bytes: int = 50_000_000
    request_log_rotate_seconds: float = 300.0
    scoring_workers: int = 2  # worker processes (and threads) that score large requests
    offload_min_bytes: int = 131_072  # bodies this large are scored off the event loop
    header_timeout_seconds: float = 10.0  # a request's headers must arrive within this
    body_timeout_seconds: float = 30.0  # and its body within this after them (else 408)
    keep_alive_seconds: int = 5  # an idle keep-alive connection is closed after this
    # Pinned by digest (the multi-arch index of python:3.11-slim): a pull gets exactly this base.
    base_image: str = (
        "python:3.11-slim@sha256:90744cff8f32887f075c47d747a173ff333e9e98801667af93c357fa9f5e28ff"
    )
    slo: SloConfig = field(default_factory=SloConfig)


@dataclass
class MonitoringConfig:
    """Read by `mlplat monitor`/`retrain`; a check breaches when its statistic crosses the line."""

    psi_threshold: float = 0.2  # population stability index on the reference quantile bins
    ks_pvalue: float = 0.01  # KS test at the reference bin edges: breach when p < this
    js_threshold: float = 0.1  # Jensen-Shannon distance (base 2, 0..1) of categoricals
    chi2_pvalue: float = 0.01  # chi-square homogeneity test of categoricals: breach when p < this
    max_null_rate_delta: float = 0.1  # |null rate now - null rate in training|
    max_unseen_rate: float = 0.01  # share of categorical values the model never saw
    max_out_of_range_rate: float = 0.01  # share of numeric values outside the training min..max
    max_schema_violation_rate: float = 0.0  # share of rows breaking the input schema
    max_model_age_days: float = 30.0
    max_p99_regression: float = 1.2  # bench p99 may grow to this multiple of the last champion's
    min_rows: int = 100  # fewer current rows: the statistics mean little; reported, not breached
    # Per feature (or `prediction`) overrides of the keys above,
    # e.g. {monthly_charges: {psi_threshold: 0.3}}
    feature_thresholds: dict[str, dict[str, float]] = field(default_factory=dict)
