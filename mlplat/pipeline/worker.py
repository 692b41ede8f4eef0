"""The stages in a child process, so that MLflow's fixed costs overlap them.

Importing MLflow and its sqlite store, opening the run and logging the model cost a few seconds
of one core per run, about as long as all the stages of a small job. The stages touch no tracking
store (they read and write files only), so `mlplat run` starts one child: it runs the stages in
order, with the spinner, the cost profile and the budget checks, and reports each stage as it
ends; meanwhile the parent opens the store and the run, and logs what each finished stage wrote.
On the two cores of a laptop or a CI runner both halves then run at once.

The child is spawned, not forked: a process that has trained or scored with LightGBM holds an
OpenMP thread pool that a forked child deadlocks on at its first parallel loop (seen in the test
suite, which runs many jobs in one process). A spawned child costs ~0.2 s more to start.

The stage process never outlives `mlplat run`: a stop the parent handles kills it (`halt`), and
on Linux the kernel kills it when the parent dies, even by SIGKILL (the parent-death signal); a
stage left running would go on writing a run's files after the run was over.

Set MLPLAT_INPROCESS_STAGES=1 to run the stages in the calling process instead (a debugger's
breakpoint in stage code needs that).
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core import dataio
from mlplat.core.io import write_text
from mlplat.pipeline.cost import RunCost

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from rich.console import Console

    from mlplat.core.config import PlatformConfig
    from mlplat.core.stage import ArtifactPaths, Stage

INPROCESS_ENV = "MLPLAT_INPROCESS_STAGES"
# The stage process's first imports, in the order the stages reach them (validate, featurize,
# train): `prestart` spawns it before the config is composed, so these overlap the composing.
PRELOAD = (
    "mlplat.pipeline.graph",
    "pandas",
    "pandera.pandas",
    "pyarrow.parquet",
    "sklearn.model_selection",
    "lightgbm",
)


class RemoteTracebackError(Exception):
    """The child's traceback, chained to the error it raised (as concurrent.futures does)."""

    def __str__(self) -> str:
        return f"\n\n{self.args[0]}" if self.args else ""


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def run_stage(
    stage: Stage, cfg: PlatformConfig, paths: ArtifactPaths, cost: RunCost, progress: Path | None
) -> None:
    """One stage under its spinner and cost profile, then a line with its wall time; its name
    goes to `progress` first (the run's stage file: where a stop found it)."""
    if progress is not None:
        write_text(progress, stage.name)
    console = cost.console
    if console is None:
        with cost.stage(stage.name):
            stage.run(cfg, paths)
        return
    with console.status(f"[bold]{stage.name}[/]: {stage.description}"), cost.stage(stage.name):
        stage.run(cfg, paths)
    seconds = cost.stages[stage.name].wall_seconds
    console.print(f"  [green]✓[/] {stage.name:<10} {seconds:6.2f}s")


def _portable(exc: BaseException) -> BaseException:
    """The error itself if it survives pickling, else one that says what it was."""
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def _run_job(conn: Connection, job: tuple[Any, ...]) -> None:
    from rich.console import Console

    cfg, paths, stages, console, progress = job
    cost = RunCost(cfg.budget, None if console is None else Console(**console))
    try:
        for stage in stages:
            run_stage(stage, cfg, paths, cost, progress)
            conn.send(("done", stage.name, cost.stages, cost.exceeded))
    except BaseException as exc:  # Ctrl-C included: the parent decides what the run becomes
        cost.note_failure(exc)
        conn.send(("failed", _portable(exc), traceback.format_exc(), cost.stages, cost.exceeded))
    finally:
        dataio.forget()  # the tables the stages handed each other
    conn.send(("idle",))


def _preload(conn: Connection) -> None:
    """Import what the stages need first, in the order they need it, while no job has come (the
    parent is still composing the config); stop at once when one does."""
    import importlib

    for name in PRELOAD:
        if conn.poll():
            return
        importlib.import_module(name)


def _die_with(parent: int) -> None:
    """Be killed when `parent` ends, however it ends (Linux; elsewhere the parent's own stop
    handling and its closed pipe end this process). The kernel sends the signal when the thread
    that started this process exits: `_Child.get` runs in the main thread."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it ended before the line above
        os._exit(1)


def _serve(conn: Connection, parent: int) -> None:
    """The child: run each job the parent sends, until the parent closes its end (or exits).

    Ctrl-C and a terminal's hang-up reach the whole process group; the parent alone handles
    them (and stops this one)."""
    _die_with(parent)
    for number in (signal.SIGINT, signal.SIGHUP):
        signal.signal(number, signal.SIG_IGN)
    _preload(conn)
    while True:
        try:
            _run_job(conn, conn.recv())
        except (EOFError, OSError):  # the parent is gone
            return


def separate() -> bool:
    return os.environ.get(INPROCESS_ENV, "") in ("", "0")


def _console_settings(console: Console | None) -> dict[str, Any] | None:
    """What the child needs to print as `console` does (a Console itself does not pickle)."""
    if console is None:
        return None
    return {
        "stderr": console.stderr,
        "quiet": console.quiet,
        "force_terminal": console.is_terminal,
        "color_system": console.color_system,
        "width": console.width,
        "soft_wrap": console.soft_wrap,
    }


class _Child:
    """The one stage process of this process, spawned on first use and kept: a second run in
    the same process (a test suite, `mlplat retrain`, a sweep of in-process trials) finds its
    modules imported already."""

    process: BaseProcess | None = None
    conn: Connection | None = None

    @classmethod
    def get(cls) -> tuple[BaseProcess, Connection]:
        if cls.process is None or cls.conn is None or not cls.process.is_alive():
            import multiprocessing

            context = multiprocessing.get_context("spawn")
            cls.conn, theirs = context.Pipe()
            cls.process = context.Process(
                target=_serve, args=(theirs, os.getpid()), name="mlplat-stages", daemon=True
            )
            cls.process.start()
            theirs.close()
        return cls.process, cls.conn

    @classmethod
    def kill(cls) -> None:
        """End it now, without waiting (a signal handler calls this): SIGKILL, which also ends
        a process that was stopped (SIGSTOP). It writes only to its run's own directory, by
        atomic replacement, so nothing it leaves looks complete."""
        if cls.process is not None and cls.process.pid is not None:
            try:
                os.kill(cls.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                return

    @classmethod
    def discard(cls) -> None:
        """Stop it mid-job (the parent failed first); the next run spawns a new one."""
        if cls.process is not None:
            cls.kill()
            cls.process.join()
        if cls.conn is not None:
            cls.conn.close()
        cls.process = cls.conn = None


def _ending() -> str:
    """How the stage process ended: its exit code, or the signal that killed it (the kernel's
    out-of-memory killer sends SIGKILL)."""
    process = _Child.process
    if process is None:
        return "exit code unknown"
    process.join(5)  # its pipe closes a moment before it can be reaped
    code = process.exitcode
    if code is not None and code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


def prestart() -> None:
    """Start the stage process now, if runs will use one, so it imports while the caller still
    composes the config (about a second of every run)."""
    if separate():
        _Child.get()


class StageWorker:
    """Runs `stages` in the stage process (or in process) from `__enter__`; `finished()` yields
    each stage name as it completes, and raises the stage's own error if one fails. `cost`
    holds what the stages cost and which budgets they breached."""

    def __init__(
        self,
        cfg: PlatformConfig,
        paths: ArtifactPaths,
        stages: tuple[Stage, ...],
        console: Console | None = None,
        separate_process: bool = True,
        progress: Path | None = None,
    ) -> None:
        self.cfg, self.paths, self.stages, self.progress = cfg, paths, stages, progress
        self.cost = RunCost(cfg.budget, console)
        self.separate = bool(stages) and separate_process and separate()
        self._conn: Connection | None = None
        self._over = False  # the child sent its last word (every stage, or a failure)

    def __enter__(self) -> StageWorker:
        if self.separate:
            _, self._conn = _Child.get()
            console = _console_settings(self.cost.console)
            self._conn.send((self.cfg, self.paths, self.stages, console, self.progress))
        return self

    def finished(self) -> Iterator[str]:
        if self._conn is None:
            try:
                for stage in self.stages:
                    run_stage(stage, self.cfg, self.paths, self.cost, self.progress)
                    yield stage.name
            except BaseException as exc:  # as the child does: a budget breach is recorded
                self.cost.note_failure(exc)
                raise
            finally:
                dataio.forget()
            return
        for _ in self.stages:
            yield self._receive()

    def _receive(self) -> str:
        assert self._conn is not None
        try:
            message: tuple[Any, ...] = self._conn.recv()
        except EOFError:
            raise RuntimeError(f"the stage process ended without a word ({_ending()})") from None
        kind, *body = message
        self.cost.stages, self.cost.exceeded = dict(body[-2]), dict(body[-1])
        if kind == "failed":
            self._finish()
            error, trace = body[0], body[1]
            error.__cause__ = RemoteTracebackError(trace)
            raise error
        if body[0] == self.stages[-1].name:
            self._finish()
        return str(body[0])

    def _finish(self) -> None:
        """The child's last word on this job: it is idle again, ready for the next run."""
        assert self._conn is not None
        self._conn.recv()
        self._over = True

    def halt(self) -> None:
        """Kill the stage process now if it is running this job (a stop signal's first act)."""
        if self._conn is not None and not self._over:
            _Child.kill()

    def __exit__(self, *exc: object) -> None:
        if self._conn is not None and not self._over:  # the parent failed or was interrupted
            _Child.discard()
