"""The `mlplat` command. Each command parses, calls one function below `mlplat.cli`, prints.

Nothing heavy is imported at module level: `mlplat --help` must stay fast.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from mlplat.cli.errors import describe

app = typer.Typer(
    name="mlplat",
    help="Declare data, schema, features, model, segments, gates and budgets once; run, track, "
    "validate, register and serve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
HYDRA_ARGS = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}
STATE = {"debug": False}


def _console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _debugging() -> bool:
    return STATE["debug"] or os.environ.get("HYDRA_FULL_ERROR") == "1"


def fail(exc: BaseException) -> None:
    """Report an error as one line and exit with its code; re-raise when debugging."""
    if _debugging():
        raise exc
    from rich.markup import escape

    code, line = describe(exc)
    _console().print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)
    raise SystemExit(code)


@contextmanager
def _stops_reported() -> Iterator[None]:
    """Typer turns a KeyboardInterrupt into a silent exit 130: a stop of a run (SIGTERM, SIGHUP,
    Ctrl-C) is reported as one line naming the signal and the run, with exit 128 + its number."""
    try:
        yield
    except KeyboardInterrupt as exc:
        fail(exc)


def _split_debug(args: list[str]) -> list[str]:
    if "--debug" in args:
        STATE["debug"] = True
    return [a for a in args if a != "--debug"]


@app.callback()
def root(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks.")] = False,
) -> None:
    STATE["debug"] = debug


@app.command(context_settings=HYDRA_ARGS)
def run(ctx: typer.Context) -> None:
    """Run an experiment in process: validate, featurize, train, evaluate, register.

    Takes Hydra's whole command line: `+experiment=NAME`, overrides, `-m` sweeps, `--cfg job`,
    `hydra/launcher=...`, and Hydra's `--help`; `--json` prints each run's result as one line
    of JSON on stdout instead of the tables.
    """
    from mlplat.cli import jobs

    args = _split_debug(list(ctx.args))
    as_json = "--json" in args
    with _stops_reported():
        jobs.run_command(Path.cwd(), [a for a in args if a != "--json"], _console(), as_json)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def validate(
    ctx: typer.Context,
    data: Annotated[
        str | None, typer.Option(help="Validate this file instead of data.path.")
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(
            help="Learn invariants from this model's training data (models:/... or a bundle "
            "dir); default: the experiment's last bundle."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Validate the data against the declared schema and the invariants learned from training;
    exit 1 if any check fails."""
    from mlplat.cli import data as data_cli

    ok = data_cli.validate_command(
        Path.cwd(), _split_debug(list(ctx.args)), (data, reference), _console(), as_json
    )
    raise typer.Exit(0 if ok else 1)


features_app = typer.Typer(
    help="The feature catalog declared under conf/features/.", no_args_is_help=True
)
app.add_typer(features_app, name="features")


@features_app.command("list")
def features_list(as_json: JsonFlag = False) -> None:
    """Show every feature: kind, definition, description and the experiments using it."""
    from mlplat.cli import features as features_cli

    features_cli.list_command(Path.cwd(), as_json)


image_app = typer.Typer(
    help="Container images of a model: build through the Docker Engine API, smoke-test.",
    no_args_is_help=True,
)
app.add_typer(image_app, name="image")


@image_app.command("build")
def image_build(
    model: Annotated[
        str, typer.Option(help="models:/NAME@ALIAS, models:/NAME/VERSION or a bundle dir.")
    ],
    tag: Annotated[str | None, typer.Option(help="Image tag; default mlplat/NAME:VERSION.")] = None,
    base: Annotated[
        str | None, typer.Option(help="Base image; default serving.base_image.")
    ] = None,
    context_only: Annotated[
        Path | None, typer.Option(help="Write the build context to DIR; no engine needed.")
    ] = None,
) -> None:
    """Build a hardened serving image of a model (and record it on the model version)."""
    from mlplat.cli import image

    image.build_command(Path.cwd(), model, tag, base, context_only, _console())


@image_app.command("test")
def image_test(tag: Annotated[str, typer.Argument(help="The image to test.")]) -> None:
    """Run the image on 127.0.0.1, check ready, predictions equal the bundle's, non-root; stop."""
    from mlplat.cli import image

    image.test_command(tag, _console())


@app.command(
    name="compile", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
)
def compile_(
    ctx: typer.Context,
    check: Annotated[bool, typer.Option(help="Exit 1 if dvc.yaml/params are stale.")] = False,
) -> None:
    """Write dvc.yaml and params.yaml from the stage graph: `+experiment=a,b [overrides]`."""
    from mlplat.cli import pipeline

    args = _split_debug(list(ctx.args))
    if check:
        raise typer.Exit(0 if pipeline.check(Path.cwd(), args, _console()) else 1)
    pipeline.compile_command(Path.cwd(), args, _console())


@app.command()
def stage(
    name: Annotated[str, typer.Argument(help="The stage to run (a `cmd` of dvc.yaml).")],
    experiment: Annotated[str | None, typer.Option(help="Refuse others' params.")] = None,
    params: Annotated[str, typer.Option(help="The resolved config to read.")] = "params.yaml",
) -> None:
    """Run one stage of a compiled pipeline with its params file's config (dvc.yaml's cmd)."""
    from mlplat.cli import pipeline

    with _stops_reported():
        pipeline.stage_command(Path.cwd(), name, experiment, params, _console())


@app.command()
def lint(
    path: Annotated[Path, typer.Argument(help="The project to check.")] = Path(),
) -> None:
    """Check the declarations' conventions; prints `file:line: CODE message`, exit 1 on errors."""
    from mlplat.cli import lint as lint_cli

    ok = lint_cli.lint_command(path)
    raise typer.Exit(0 if ok else 1)


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="The new project's directory.")],
    data: Annotated[Path | None, typer.Option(help="Your CSV/Parquet file.")] = None,
    target: Annotated[str | None, typer.Option(help="The column to predict (with --data).")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print what was inferred as JSON on stdout.")
    ] = False,
) -> None:
    """Scaffold a new project: conf/, data, Makefile, CI, pre-commit, git and DVC; print what
    was inferred (task, split, segments, gates, names mapped, columns left out, warnings)."""
    from mlplat.cli import init as init_cli

    init_cli.init_command(directory, data, target, as_json)


SERVE_MODEL = "models:/NAME@ALIAS, models:/NAME/VERSION or a bundle directory."
Opt = typer.Option


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def serve(
    ctx: typer.Context,
    model: Annotated[str, Opt(help=SERVE_MODEL)],
    host: Annotated[str | None, Opt(help="Bind address (default: serving.host).")] = None,
    port: Annotated[int | None, Opt(help="Port (default: serving.port).")] = None,
    workers: Annotated[int | None, Opt(help="Worker processes (default: serving.workers).")] = None,
    poll_interval: Annotated[float | None, Opt(help="Seconds between alias checks.")] = None,
    request_log_dir: Annotated[str | None, Opt(help="Write sampled requests here.")] = None,
    challenger: Annotated[
        str | None, Opt(help="The second arm (default: models:/NAME@online.challenger).")
    ] = None,
    mode: Annotated[
        str | None, Opt(help="Online experiment: off | shadow | split | canary (online.mode).")
    ] = None,
    split: Annotated[
        float | None, Opt(help="The challenger's share of requests (online.split).")
    ] = None,
) -> None:
    """Serve a model: MLflow /invocations, Open Inference Protocol V2, /metrics, hot swaps;
    with --challenger and --mode, an online experiment between two arms."""
    from mlplat.cli import serve as serve_cli

    flags = {
        "host": host,
        "port": port,
        "workers": workers,
        "poll_interval_seconds": poll_interval,
        "request_log_dir": request_log_dir,
        "challenger": challenger,
        "mode": mode,
        "split": split,
    }
    serve_cli.serve_command(Path.cwd(), model, flags, _split_debug(list(ctx.args)), _console())


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def feedback(
    ctx: typer.Context,
    labels: Annotated[
        Path | None, Opt(help="Outcomes: a CSV or Parquet file (besides those POSTed).")
    ] = None,
    id_column: Annotated[str, Opt(help="The column holding the request id.")] = "request_id",
    label_column: Annotated[str, Opt(help="The column holding the outcome.")] = "label",
    as_json: JsonFlag = False,
) -> None:
    """Join delayed outcomes (a file, and those POSTed to /feedback) to the online experiment's
    logged predictions by request id."""
    from mlplat.cli import online as online_cli

    online_cli.feedback_command(
        Path.cwd(),
        labels,
        (id_column, label_column),
        _split_debug(list(ctx.args)),
        as_json,
        _console(),
    )


online_app = typer.Typer(
    help="The online experiment: its test, guardrails and decision.", no_args_is_help=True
)
app.add_typer(online_app, name="online")


@online_app.command("status", context_settings=HYDRA_ARGS)
def online_status(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Per arm and segment: labelled rows, effect with its always-valid interval, p; guardrails;
    for a binary model, a label-free estimate (CBPE) that never decides."""
    from mlplat.cli import online as online_cli

    args = _split_debug(list(ctx.args))
    online_cli.decision_command(Path.cwd(), args, False, as_json, _console())


@online_app.command("decide", context_settings=HYDRA_ARGS)
def online_decide(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Promote (exit 0), keep or roll back (exit 1), or continue (exit 3; a canary steps up)."""
    from mlplat.cli import online as online_cli

    args = _split_debug(list(ctx.args))
    raise typer.Exit(online_cli.decision_command(Path.cwd(), args, True, as_json, _console()))


@app.command()
def bench(
    url: Annotated[str, Opt(help="Loopback scoring URL: http://127.0.0.1:PORT/invocations.")],
    payload: Annotated[Path, Opt(help="Request body file (.json, or .csv for text/csv).")],
    concurrency: Annotated[int, Opt(help="Concurrent keep-alive connections.")] = 8,
    duration: Annotated[float, Opt(help="Seconds of load (at most 600).")] = 10.0,
    requests: Annotated[int, Opt(help="Stop after this many requests.")] = 10_000_000,
    rate: Annotated[
        float | None,
        Opt(help="Open loop: requests per second on a schedule; latency counts from it."),
    ] = None,
    slo: Annotated[bool, Opt("--slo", help="Exit 1 on a serving.slo breach (p99, QPS).")] = False,
    model: Annotated[str | None, Opt(help="The served models:/NAME@ALIAS.")] = None,
    swap: Annotated[str | None, Opt("--swap", help="Move the alias here midway.")] = None,
    output: Annotated[Path | None, Opt(help="Also write the results here as JSON.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Load-test a scoring server: QPS, latency percentiles, errors; --swap: update downtime."""
    from mlplat.cli import serve as serve_cli
    from mlplat.ops.bench import BenchOptions

    options = BenchOptions(url, payload, concurrency, duration, requests, model, swap, slo, rate)
    ok = serve_cli.bench_command(Path.cwd(), options, output, as_json, _console())
    raise typer.Exit(0 if ok else 1)


@app.command()
def promote(
    name: Annotated[str, typer.Argument(help="Registered model name, e.g. telco-churn-lgbm.")],
    version: Annotated[str, typer.Argument(help="The version to make champion.")],
    reason: Annotated[str, typer.Option(help="Why (recorded on the model with who and when).")],
) -> None:
    """Force @champion to VERSION, bypassing the gates; records who, when and why."""
    from mlplat.cli import registry as registry_cli

    registry_cli.promote_command(Path.cwd(), name, version, reason, _console())


@app.command()
def rollback(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    reason: Annotated[str, typer.Option(help="Why (recorded on the model).")] = "",
) -> None:
    """Move @champion back to the previous champion."""
    from mlplat.cli import registry as registry_cli

    registry_cli.rollback_command(Path.cwd(), name, reason, _console())


registry_app = typer.Typer(
    help="The model registry: alias history, manifest pins.", no_args_is_help=True
)
app.add_typer(registry_app, name="registry")


@registry_app.command("pin")
def registry_pin(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    version: Annotated[str, typer.Argument(help="Its version.")],
) -> None:
    """Verify a version's bundle and pin its manifest digest (a version registered without one)."""
    from mlplat.cli import registry as registry_cli

    registry_cli.pin_command(Path.cwd(), name, version, _console())


@registry_app.command("history")
def registry_history(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    as_json: JsonFlag = False,
) -> None:
    """Every move of @champion (and other aliases): when, who, why, from which version."""
    from mlplat.cli import registry as registry_cli

    registry_cli.history_command(Path.cwd(), name, as_json)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def profile(
    ctx: typer.Context,
    model: Annotated[str, typer.Option(help=SERVE_MODEL)],
    data: Annotated[str, typer.Option(help="Representative rows (CSV/Parquet) to predict on.")],
    seconds: Annotated[float, typer.Option(help="Timing per batch size.")] = 0.5,
    slo: Annotated[bool, typer.Option("--slo", help="Exit 1 if 1-row p99 misses the SLO.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Deployment profile: latency per batch size (p50/p99), throughput, peak memory, sizing."""
    from mlplat.cli import profile as profile_cli

    meets, failed = profile_cli.profile_command(
        Path.cwd(), model, data, _split_debug(list(ctx.args)), seconds, _console(), as_json
    )
    raise typer.Exit(1 if failed or (slo and not meets) else 0)  # failed calls: a failed check


HYDRA_EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}


@app.command(context_settings=HYDRA_EXTRA)
def monitor(
    ctx: typer.Context,
    model: Annotated[str, Opt(help=SERVE_MODEL)],
    current: Annotated[str, Opt(help="Request-log dir/.jsonl, or a CSV/Parquet file or dir.")],
    output: Annotated[
        Path | None, Opt(help="Report directory (default artifacts/monitor/...).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Drift, skew, staleness, stability, latency checks; HTML + JSON report; exit 1 on a breach."""
    from mlplat.cli import monitor as monitor_cli

    ok = monitor_cli.monitor_command(
        Path.cwd(), model, current, output, _split_debug(list(ctx.args)), _console(), as_json
    )
    raise typer.Exit(0 if ok else 1)


@app.command(context_settings=HYDRA_EXTRA)
def retrain(
    ctx: typer.Context,
    if_drift: Annotated[
        bool, Opt("--if-drift", help="Retrain only if the monitor breaches.")
    ] = False,
    current: Annotated[str | None, Opt(help="Data to monitor (default: data.path).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run `+experiment=NAME` again (same gates and registry rules), recording why."""
    from mlplat.cli import monitor as monitor_cli

    with _stops_reported():
        monitor_cli.retrain_command(
            Path.cwd(), _split_debug(list(ctx.args)), current, if_drift, _console(), as_json
        )


@app.command(context_settings=HYDRA_EXTRA)
def score(
    ctx: typer.Context,
    min_score: Annotated[
        float | None, Opt(help="Exit 1 when the final score is below this.")
    ] = None,
    output: Annotated[Path | None, Opt(help="Also write the result here as JSON.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """The ML Test Score (Breck et al. 2017) of this project, from evidence and attestations."""
    from mlplat.cli import score as score_cli

    ok = score_cli.score_command(
        Path.cwd(), _split_debug(list(ctx.args)), min_score, output, _console(), as_json
    )
    raise typer.Exit(0 if ok else 1)


deploy_app = typer.Typer(
    help="Run a model past one machine: Kubernetes and KServe manifests.", no_args_is_help=True
)
app.add_typer(deploy_app, name="deploy")


@deploy_app.command("render", context_settings=HYDRA_EXTRA)
def deploy_render(
    ctx: typer.Context,
    model: Annotated[str, Opt(help="models:/NAME@ALIAS or models:/NAME/VERSION.")],
    target: Annotated[str, Opt(help="kubernetes (Deployment, Service, HPA, PDB) or kserve.")],
    output: Annotated[Path, Opt(help="Directory of the manifest files.")],
    image: Annotated[
        str | None, Opt(help="REPOSITORY@sha256:... (default: the image build recorded).")
    ] = None,
    check: Annotated[
        bool, Opt(help="Write nothing; exit 1 if the files in --output are stale.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Manifests from conf/deploy and the model version (image digest, profile sizing), with the
    server's own probes, port, user and drain; built-in kinds validated offline."""
    from mlplat.cli import deploy as deploy_cli

    options = deploy_cli.RenderOptions(model, target, output, image, check)
    ok = deploy_cli.render_command(
        Path.cwd(), options, _split_debug(list(ctx.args)), _console(), as_json
    )
    raise typer.Exit(0 if ok else 1)


@app.command(name="gc", context_settings=HYDRA_EXTRA)
def gc_(
    ctx: typer.Context,
    apply: Annotated[bool, Opt("--apply", help="Delete what the plan says goes.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Plan storage by conf/retention: what goes, what stays and why, bytes and monthly cost;
    --apply deletes (runs, logged models, registry versions, orphans, the DVC cache)."""
    from mlplat.cli import gc as gc_cli

    with _stops_reported():
        gc_cli.gc_command(Path.cwd(), _split_debug(list(ctx.args)), apply, _console(), as_json)


card_app = typer.Typer(
    help="Model cards: `mlplat card --model models:/NAME/VERSION`, `mlplat card diff`."
)
app.add_typer(card_app, name="card")


@card_app.callback(invoke_without_command=True, context_settings=HYDRA_EXTRA)
def card(
    ctx: typer.Context,
    model: Annotated[str | None, Opt(help="models:/NAME/VERSION or models:/NAME@ALIAS.")] = None,
    fmt: Annotated[str, Opt("--format", help="md | html | json.")] = "md",
    output: Annotated[
        Path | None, Opt(help="Write card.<ext> into this directory (default: stdout).")
    ] = None,
) -> None:
    """The model card of a registered version, from the evidence mlplat recorded: details,
    intended use, data, metrics overall and per segment, gates, caveats, cost."""
    if ctx.invoked_subcommand is not None:
        return
    if model is None:
        raise typer.BadParameter("--model models:/NAME/VERSION is required", param_hint="--model")
    from mlplat.cli import card as card_cli

    card_cli.card_command(Path.cwd(), model, fmt, output, _split_debug(list(ctx.args)), _console())


@card_app.command("diff", context_settings=HYDRA_EXTRA)
def card_diff(
    ctx: typer.Context,
    old: Annotated[
        str | None, Opt("--from", help="The version before: models:/NAME@champion ...")
    ] = None,
    new: Annotated[
        str | None, Opt("--to", help="The version after: models:/NAME@challenger ...")
    ] = None,
    markdown: Annotated[bool, Opt("--markdown", help="Print the diff as Markdown.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """What changed between two versions: data, config, code, metrics overall and per segment
    (significant when the intervals do not overlap), gates and cost. The versions as `--from
    OLD --to NEW`, or positionally as `git diff` takes them: `mlplat card diff OLD NEW`."""
    from mlplat.cli import card as card_cli

    args = _split_debug(list(ctx.args))
    refs = [a for a in args if a.startswith("models:/")]
    given = [*refs, *(ref for ref in (old, new) if ref)]
    if len(given) != 2 or len(refs) == 1:
        raise typer.BadParameter(
            "name two versions: mlplat card diff models:/NAME/OLD models:/NAME/NEW "
            "(or --from OLD --to NEW)",
            param_hint="OLD NEW",
        )
    overrides = [a for a in args if a not in refs]
    card_cli.diff_command(Path.cwd(), given[0], given[1], overrides, as_json, markdown)


notify_app = typer.Typer(
    help="Notifications (conf/notify): send a test event, hear MLflow's registry webhooks.",
    no_args_is_help=True,
)
app.add_typer(notify_app, name="notify")


@notify_app.command("test", context_settings=HYDRA_EXTRA)
def notify_test(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="A target declared under notify.targets.")],
    as_json: JsonFlag = False,
) -> None:
    """Send a sample event to TARGET now; exit 1 if it was not delivered."""
    from mlplat.cli import notify as notify_cli

    ok = notify_cli.test_command(
        Path.cwd(), target, _split_debug(list(ctx.args)), _console(), as_json
    )
    raise typer.Exit(0 if ok else 1)


@notify_app.command("listen", context_settings=HYDRA_EXTRA)
def notify_listen(
    ctx: typer.Context,
    host: Annotated[str, Opt(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, Opt(help="Port (0: any free one).")] = 8765,
) -> None:
    """Receive MLflow registry webhooks, verify their signature and timestamp, and tell the
    declared targets (alias moves with the card diff)."""
    from mlplat.cli import notify as notify_cli

    notify_cli.listen_command(Path.cwd(), host, port, _split_debug(list(ctx.args)), _console())


@app.command()
def version() -> None:
    """Print mlplat's version."""
    import mlplat

    typer.echo(mlplat.__version__)


def quiet_libraries() -> None:
    """Library chatter is not the command's output: MLflow's INFO lines ("Creating a new
    experiment") are dropped unless MLFLOW_LOGGING_LEVEL asks for them, and its "View run at
    <url>" line, printed to stdout when a run on an HTTP store ends, would break a command's
    --json (mlplat names the run itself). Set in the environment, so the stage worker and `dvc
    repro`'s stage processes inherit it."""
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")


def main() -> None:
    quiet_libraries()
    try:
        app(prog_name="mlplat")
    except Exception as exc:  # every command's errors end here: one line, one exit code
        fail(exc)
    finally:
        # Interpreter exit collects every object the command imported (MLflow, pandas,
        # scikit-learn: ~1 s here); nothing is left to free, so let exit skip them.
        gc.freeze()


if __name__ == "__main__":
    main()
