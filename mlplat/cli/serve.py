"""`mlplat serve` and `mlplat bench`: settings from conf/serving + flags, hand over, print."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core.config.ops import ServingConfig
from mlplat.core.errors import ConfigError, RegistryError

if TYPE_CHECKING:
    from rich.console import Console

    from mlplat.serving.settings import ServeSettings


def project_config(project: Path, overrides: list[str]) -> tuple[ServingConfig, str | None]:
    """conf/serving and the tracking URI of the project; outside a project, the defaults."""
    if not (project / "conf" / "config.yaml").is_file():
        if overrides:
            raise ConfigError(
                "overrides need a project: no conf/config.yaml here", key=overrides[0]
            )
        return ServingConfig(), os.environ.get("MLFLOW_TRACKING_URI")
    from mlplat.core import tracking_store
    from mlplat.runner.compose import compose
    from mlplat.runner.tracking import tracking_uri

    cfg = compose(project, overrides)
    uri = tracking_uri(cfg, project)
    tracking_store.apply_limits(cfg.tracking, uri)  # the project's declared HTTP budget
    return cfg.serving, uri


def serve_settings(
    model: str, serving: ServingConfig, tracking: str | None, flags: dict[str, Any]
) -> ServeSettings:
    from mlplat.serving.compat import SchemaChange
    from mlplat.serving.settings import ServeSettings

    known = {f.name for f in fields(ServeSettings)}
    values = {k: v for k, v in asdict(serving).items() if k in known}
    values.update({k: v for k, v in flags.items() if v is not None})
    checks = {
        "workers": values["workers"] >= 1,
        "port": 0 < values["port"] < 65536,
        "max_payload_bytes": values["max_payload_bytes"] > 0,
        "max_batch_rows": values["max_batch_rows"] > 0,
        "poll_interval_seconds": values["poll_interval_seconds"] >= 0,
        "request_log_sample": 0.0 <= values["request_log_sample"] <= 1.0,
        "request_log_queue_size": values["request_log_queue_size"] > 0,
        "scoring_workers": values["scoring_workers"] >= 1,
        "offload_min_bytes": values["offload_min_bytes"] >= 0,
        "header_timeout_seconds": values["header_timeout_seconds"] > 0,
        "body_timeout_seconds": values["body_timeout_seconds"] > 0,
        "keep_alive_seconds": values["keep_alive_seconds"] >= 1,
    }
    for key, ok in checks.items():
        if not ok:
            raise ConfigError(
                f"serving.{key} = {values[key]!r} is out of range", key=f"serving.{key}"
            )
    if values["schema_change"] not in set(SchemaChange):
        raise ConfigError(
            f"serving.schema_change = {values['schema_change']!r} is not one of "
            f"{[str(p) for p in SchemaChange]}",
            key="serving.schema_change",
        )
    return ServeSettings(model=model, tracking_uri=tracking, **values)


def serve_command(
    project: Path, model: str, flags: dict[str, Any], overrides: list[str], console: Console
) -> None:
    from mlplat.core import tracking_store
    from mlplat.serving.server import serve
    from mlplat.serving.source import make_source

    serving, tracking = project_config(project, overrides)
    settings = serve_settings(model, serving, tracking, flags)
    source = make_source(settings.model, settings.tracking_uri)
    where = (
        f" in the tracking store {tracking_store.redact(tracking)}"
        if tracking and model.startswith("models:/")
        else ""
    )
    try:  # fail fast, with one clear line, on a model that does not exist or a store that is down
        source.resolve()
    except Exception as exc:
        message = tracking_store.scrub(" ".join(str(exc).split()))
        raise RegistryError(f"cannot resolve {model}{where}: {message}", key="model") from exc
    console.print(
        f"serving {model} on http://{settings.host}:{settings.port} "
        f"({settings.workers} worker(s)); Ctrl-C or SIGTERM to stop",
        highlight=False,
    )
    serve(settings)


def _print_summary(summary: dict[str, Any], console: Console) -> None:
    from mlplat.core.tables import Column, Table, print_table

    def text(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.2f}"
        return json.dumps(value) if isinstance(value, dict) else str(value)

    rows = [(key, text(value)) for key, value in summary.items()]
    columns = (Column("figure"), Column("value", prose=True))
    print_table(console, Table("bench", columns, rows, show_header=False))


def bench_command(project: Path, options: dict[str, Any], console: Console) -> bool:
    """Run the load, print it, log it to MLflow for a registry model; False on an SLO breach."""
    from mlplat.serving.bench import run_bench, slo_breaches

    serving, tracking = project_config(project, [])
    model, swap_to = options["model"], options["swap_to"]
    if swap_to and not (model and tracking):
        raise ConfigError(
            "--swap needs --model models:/NAME@ALIAS and a tracking store", key="swap"
        )
    swap = None
    if swap_to:
        from mlplat.serving.registry import alias_mover

        swap = alias_mover(model, tracking, swap_to)  # type: ignore[arg-type]
    payload = Path(options["payload"])
    if not payload.is_file():
        raise ConfigError(f"payload file '{payload}' does not exist", key="payload")
    content_type = "text/csv" if payload.suffix == ".csv" else "application/json"
    result = run_bench(
        options["url"],
        payload.read_bytes(),
        concurrency=options["concurrency"],
        duration=options["duration"],
        content_type=content_type,
        max_requests=options["requests"],
        swap=swap,
    )
    summary = result.summary()
    if options.get("json"):
        from mlplat.core.tables import print_json

        print_json(summary)
    else:
        _print_summary(summary, console)
    if options.get("output"):
        from mlplat.core.io import write_json

        write_json(options["output"], summary)
    if model and model.startswith("models:/") and tracking:
        from mlplat.serving.registry import log_results

        run_id = log_results(model, tracking, summary, version=swap_to)
        console.print(f"logged bench.* metrics to run {run_id}", highlight=False)
    if not options["slo"]:
        return summary["errors"] == 0
    breaches = slo_breaches(summary, serving.slo.p99_ms, serving.slo.min_qps)
    for line in breaches:
        console.print(f"[bold red]SLO breach:[/] {line}", highlight=False)
    return not breaches
