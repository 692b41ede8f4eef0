"""`mlplat serve` and `mlplat bench`: settings from conf/serving + flags, hand over, print."""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core.config.ops import ServingConfig
from mlplat.core.errors import ConfigError, RegistryError

if TYPE_CHECKING:
    from rich.console import Console

    from mlplat.ops.bench import BenchOptions
    from mlplat.serving.settings import ServeSettings


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
    from dataclasses import replace

    from mlplat.pipeline.compose import project_declaration
    from mlplat.serving.lease import heartbeat_seconds, lease_dir
    from mlplat.serving.online.settings import online_settings
    from mlplat.serving.server import serve

    online_flags = {k: flags.pop(k, None) for k in ("challenger", "mode", "split")}
    cfg, tracking = project_declaration(project, overrides)
    flags = {  # `mlplat gc` keeps what it serves while the heartbeat is younger than the TTL
        **flags,
        "lease_dir": str(lease_dir(project)),
        "lease_heartbeat_seconds": heartbeat_seconds(cfg.retention.lease_ttl_seconds),
    }
    settings = serve_settings(model, cfg.serving, tracking, flags)
    online = online_settings(
        cfg.online, cfg.experiment_name, project, model, online_flags, tuple(overrides)
    )
    settings = replace(settings, online=online)
    _resolves(model, tracking, "model")
    if online is not None:
        _resolves(online.challenger, tracking, "challenger")
    arms = f", {online.mode} with {online.challenger}" if online else ""
    console.print(
        f"serving {model}{arms} on http://{settings.host}:{settings.port} "
        f"({settings.workers} worker(s)); Ctrl-C or SIGTERM to stop",
        highlight=False,
    )
    if online is None:
        serve(settings)
        return
    from mlplat.online import live

    serve(settings, live.FACTORY, live.recorder(cfg, project, tracking))


def _resolves(model: str, tracking: str | None, key: str) -> None:
    """Fail fast, with one clear line, on a model that does not exist or a store that is down."""
    from mlplat.core import tracking_store
    from mlplat.serving.source import make_source

    source = make_source(model, tracking)
    where = (
        f" in the tracking store {tracking_store.redact(tracking)}"
        if tracking and model.startswith("models:/")
        else ""
    )
    try:
        source.resolve()
    except Exception as exc:
        message = tracking_store.scrub(" ".join(str(exc).split()))
        raise RegistryError(f"cannot resolve {model}{where}: {message}", key=key) from exc


def _print_summary(summary: dict[str, Any], console: Console) -> None:
    from mlplat.core.tables import Column, Table, print_table

    def text(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.2f}"
        return json.dumps(value) if isinstance(value, dict) else str(value)

    rows = [(key, text(value)) for key, value in summary.items()]
    columns = (Column("figure"), Column("value", prose=True))
    print_table(console, Table("bench", columns, rows, show_header=False))


def bench_command(
    project: Path, options: BenchOptions, output: Path | None, as_json: bool, console: Console
) -> bool:
    """Run the load, print it; False on an SLO breach (with --slo) or on failed requests."""
    from mlplat.ops.bench import bench

    outcome = bench(project, options)
    if as_json:
        from mlplat.core.tables import print_json

        print_json(outcome.summary)
    else:
        _print_summary(outcome.summary, console)
    if output:
        from mlplat.core.io import write_json

        write_json(output, outcome.summary)
    if outcome.run_id:
        console.print(f"logged bench.* metrics to run {outcome.run_id}", highlight=False)
    for line in outcome.breaches:
        console.print(f"[bold red]SLO breach:[/] {line}", highlight=False)
    return outcome.ok(options.slo)
