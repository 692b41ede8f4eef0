"""Operational groups: budget, tracking, registry, serving, monitoring, retention."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlplat.core.config.bounds import bounded


@dataclass
class LimitConfig:
    limit: float | None = bounded(None, ge=0)  # None: no limit
    policy: str = "fail"  # fail | warn | stop_early (stop_early: max_train_seconds only)


@dataclass
class SweepBudgetConfig:
    """Read by the `mlplat_optuna` sweeper: it stops launching trials once one is reached."""

    max_trials: int | None = bounded(None, ge=1)
    # in `budget.currency`, summed over finished trials
    max_total_cost: float | None = bounded(None, ge=0)
    max_total_wall: float | None = bounded(None, ge=0)  # seconds since the sweep started


@dataclass
class BudgetConfig:
    currency: str = "USD"
    price_per_cpu_hour: float = bounded(0.05, ge=0)
    # per GB of peak resident memory, per hour of wall time
    price_per_gb_hour: float = bounded(0.006, ge=0)
    price_per_gpu_hour: float = bounded(0.0, ge=0)
    # storage (MLflow artifacts, the DVC cache), per GB held for a month: `mlplat gc` prices it
    price_per_gb_month: float = bounded(0.023, ge=0)
    gpus: int = bounded(0, ge=0)  # GPUs held for the whole run (billed on wall time)
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
    # An HTTP store (mlflow server): each request's timeout, how often a failed one is retried,
    # and the backoff between retries (factor x 2^n s), set as MLflow's MLFLOW_HTTP_REQUEST_*
    # variables. MLflow's own (120 s, 7 retries, factor 2) report a server that is down after
    # about four minutes; these, after 3-4 s (refused) or ~45 s (no answer at all).
    request_timeout_seconds: int = bounded(15, ge=1)
    max_retries: int = bounded(2, ge=0, le=10)  # MLflow's own limits
    backoff_factor: int = bounded(1, ge=0, le=120)


@dataclass
class RegistryConfig:
    domain: str = "project"
    model_name: str | None = None  # None: rendered from name_template
    name_template: str = "{domain}-{target}-{algorithm}"
    name_pattern: str = r"^[a-z][a-z0-9]*(-[a-z0-9_]+){2}$"
    register: bool = True


@dataclass
class SloConfig:
    p99_ms: float = bounded(10.0, gt=0)
    min_qps: float = bounded(100.0, ge=0)


@dataclass
class ServingConfig:
    host: str = "127.0.0.1"
    port: int = bounded(5000, ge=0, le=65535)  # 0: any free port
    workers: int = bounded(1, ge=1)
    max_payload_bytes: int = bounded(10_000_000, ge=1)
    max_batch_rows: int = bounded(100_000, ge=1)  # rows per request; more is a 413
    # how often the server re-resolves its registry alias
    poll_interval_seconds: float = bounded(10.0, gt=0)
    request_log_dir: str | None = None  # None: no request log
    request_log_sample: float = bounded(1.0, ge=0, le=1)  # share of requests logged
    # records waiting to be written; beyond it they drop
    request_log_queue_size: int = bounded(10_000, ge=1)
    request_log_rotate_bytes: int = bounded(50_000_000, ge=1)
    request_log_rotate_seconds: float = bounded(300.0, gt=0)
    schema_change: str = "refuse"  # a new version that breaks current clients: refuse | warn
    scoring_workers: int = bounded(2, ge=1)  # worker processes (and threads) for large requests
    offload_min_bytes: int = bounded(131_072, ge=0)  # bodies this large are scored off the loop
    header_timeout_seconds: float = bounded(10.0, gt=0)  # a request's headers must arrive within
    body_timeout_seconds: float = bounded(30.0, gt=0)  # and its body after them (else 408)
    keep_alive_seconds: int = bounded(5, ge=1)  # an idle keep-alive connection is closed after
    # Pinned by digest (the multi-arch index of python:3.11-slim): a pull gets exactly this base.
    base_image: str = (
        "python:3.11-slim@sha256:90744cff8f32887f075c47d747a173ff333e9e98801667af93c357fa9f5e28ff"
    )
    slo: SloConfig = field(default_factory=SloConfig)


@dataclass
class MonitoringConfig:
    """Read by `mlplat monitor`/`retrain`; a check breaches when its statistic crosses the line."""

    # population stability index on the reference quantile bins
    psi_threshold: float = bounded(0.2, ge=0)
    # KS test at the reference bin edges: breach when p < this
    ks_pvalue: float = bounded(0.01, ge=0, le=1)
    # Jensen-Shannon distance (base 2, 0..1) of categoricals
    js_threshold: float = bounded(0.1, ge=0, le=1)
    # chi-square homogeneity test of categoricals: breach when p < this
    chi2_pvalue: float = bounded(0.01, ge=0, le=1)
    max_null_rate_delta: float = bounded(0.1, ge=0, le=1)  # |null rate now - null rate in training|
    # share of categorical values the model never saw
    max_unseen_rate: float = bounded(0.01, ge=0, le=1)
    # share of numeric values outside the training min..max
    max_out_of_range_rate: float = bounded(0.01, ge=0, le=1)
    # share of rows breaking the input schema
    max_schema_violation_rate: float = bounded(0.0, ge=0, le=1)
    max_model_age_days: float = bounded(30.0, gt=0)
    # bench p99 may grow to this multiple of the last champion's
    max_p99_regression: float = bounded(1.2, gt=0)
    # fewer current rows: the statistics mean little; reported, not breached
    min_rows: int = bounded(100, ge=1)
    # Limits widen with small samples: a limit above is raised to what chance alone produces at
    # this confidence, shared over all features (docs/monitoring.md#thresholds-and-sample-size)
    confidence: float = bounded(0.99, gt=0, lt=1)
    # Per feature (or `prediction`) overrides of the keys above,
    # e.g. {monthly_charges: {psi_threshold: 0.3}}
    feature_thresholds: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class RetentionConfig:
    """Read by `mlplat gc`. Keep rules combine with OR: whatever any of them keeps stays. What
    no rule keeps goes once a delete rule's age is reached; a deleted run or logged model is
    purged (its artifacts and rows removed) after `grace_days`."""

    # registry versions: an aliased version and one a live server follows always stay; also
    # versions champion within this many days, and the newest N of every registered model
    champion_within_days: float = bounded(30.0, ge=0)
    last_versions: int = bounded(3, ge=0)
    # runs
    runs_younger_than_days: float = bounded(14.0, ge=0)
    best_runs_per_experiment: int = bounded(3, ge=0)  # FINISHED, by the task's primary metric
    best_trial_per_sweep: bool = True
    keep_runs: list[str] = field(default_factory=list)  # run ids or run names
    keep_dvc_experiments: bool = True  # the DVC cache keeps what `dvc exp` experiments use
    # delete rules: ages (days since the run started) after which an unkept run goes
    failed_after_days: float = bounded(7.0, ge=0)  # FAILED and KILLED runs
    trials_after_days: float = bounded(30.0, ge=0)  # sweep trials other than the best
    others_after_days: float = bounded(90.0, ge=0)
    grace_days: float = bounded(7.0, ge=0)  # deleted -> purged
    # a serving lease whose heartbeat is older than this has expired (the server is gone)
    lease_ttl_seconds: float = bounded(600.0, gt=0)
