"""A run's own working directory, `artifacts/<experiment>/.runs/<run name>/`, and how its outputs
reach `artifacts/<experiment>/`.

Two `mlplat run` at once in one project used to write the same files: one registered its own
model with the other's feature spec and scored it on rows it had trained on. Now each run claims a
directory (the claim also makes its MLflow run name unique among the runs at work in the project),
its stages write there, its gates and registration read from there, and only a run that succeeds
publishes its outputs into `artifacts/<experiment>/`, where DVC's pipeline, `mlplat serve --model
artifacts/...` and people look: under a lock, one rename per entry, after a journal that lets the
next run finish a publication its process did not live to finish.

The directory also holds the run's lease (process id and start time, host, store, MLflow run id)
and the stage it is at, so the next run in the project can tell a run whose process is gone
(SIGKILL, a crash, a power cut) from one at work. A failed run's directory (its reports) stays
until then.
"""

from __future__ import annotations

import errno
import itertools
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from pathlib import Path

from mlplat.core.io import exclusive, read_json, write_json, write_text
from mlplat.core.stage import ArtifactPaths

RUNS = ".runs"
LEASE = "lease.json"
STAGE = "stage"  # the stage at work: written as each starts, by whichever process runs it
JOURNAL = "publish.json"  # what a publication moves; removed when it is complete
REPLACED = ".replaced"  # the entries it replaced, removed with the directory
LOCK = ".publish.lock"
INTERNAL = frozenset({LEASE, STAGE, JOURNAL, REPLACED})
SAME_START = 0.05  # seconds: a process start time read twice, or a pid taken by a new process


@dataclass(frozen=True)
class Lease:
    """Who runs a run: a process id alone could be reused by a new process, so its start time
    too; and where the run is recorded once it is (the store, redacted, and the ids)."""

    pid: int
    started: float
    host: str
    store: str | None = None
    experiment_id: str | None = None
    run_id: str | None = None

    @classmethod
    def mine(cls) -> Lease:
        import psutil

        return cls(os.getpid(), psutil.Process().create_time(), socket.gethostname())

    def gone(self) -> bool:
        """True when the process that took this lease has ended (a zombie has ended too); a
        lease from another host (a shared disk) is never judged from here, nor a process this
        user may not see."""
        import psutil

        if self.host != socket.gethostname():
            return False
        try:
            process = psutil.Process(self.pid)
            if process.status() == psutil.STATUS_ZOMBIE:
                return True
            return abs(process.create_time() - self.started) > SAME_START
        except psutil.NoSuchProcess:
            return True
        except psutil.AccessDenied:  # a process this user may not inspect: not ours to judge
            return False


@dataclass(frozen=True)
class RunDir:
    root: Path  # artifacts/<experiment>/.runs/<run name>

    @property
    def name(self) -> str:
        """The run's MLflow name."""
        return self.root.name

    @property
    def shared(self) -> Path:
        """artifacts/<experiment>: where its outputs are published."""
        return self.root.parent.parent

    @property
    def stage_file(self) -> Path:
        return self.root / STAGE

    @classmethod
    def claim(cls, shared: Path, name: str) -> RunDir:
        """A new directory for run `name`, else `name-2`, `name-3`...: a run at work holds each
        of those. The lease is inside before the directory appears, so no run ever finds one
        without its owner."""
        runs, name = shared / RUNS, name.replace(os.sep, "-")  # a pattern may render a slash
        runs.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".claim-", dir=runs))
        write_json(staging / LEASE, asdict(Lease.mine()))
        for number in itertools.count(1):
            target = runs / (name if number == 1 else f"{name}-{number}")
            try:
                os.rename(staging, target)  # never onto a directory with a lease in it
                return cls(target)
            except OSError as err:
                if err.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    shutil.rmtree(staging, ignore_errors=True)
                    raise
        raise AssertionError("unreachable")  # pragma: no cover (count() never ends)

    def paths(self, data: Path) -> ArtifactPaths:
        return ArtifactPaths(root=self.root, data=data, published=self.shared)

    def lease(self) -> Lease:
        return Lease(**read_json(self.root / LEASE))

    def note(self, **recorded: str) -> None:
        """Add where the run is recorded (store, experiment_id, run_id) to its lease."""
        write_json(self.root / LEASE, {**asdict(self.lease()), **recorded})

    def note_stage(self, name: str) -> None:
        write_text(self.stage_file, name)

    def stage(self) -> str | None:
        return self.stage_file.read_text().strip() if self.stage_file.is_file() else None

    def publish(self, drop: tuple[str, ...] = ()) -> None:
        """Move this run's outputs into artifacts/<experiment>/, each replacing an earlier run's
        entry of that name, and set aside the entries in `drop` this run did not write (an
        earlier run's gate verdicts), so what is published is one run's, whole. Under the lock,
        and after finishing any publication a dead run left half done (that run had registered
        its version: registration comes first), so publications never interleave."""
        with _locked(self.shared):
            for other in _runs_in(self.shared):
                if other != self and (other.root / JOURNAL).is_file():
                    other._move()
            outputs = sorted(
                p.name for p in self.root.iterdir() if p.name not in INTERNAL and p.name[0] != "."
            )
            write_json(
                self.root / JOURNAL, {"put": outputs, "drop": sorted(set(drop) - set(outputs))}
            )
            self._move()

    def finish_publication(self) -> None:
        """Complete this (dead) run's publication, if it began one."""
        if (self.root / JOURNAL).is_file():
            with _locked(self.shared):
                if (self.root / JOURNAL).is_file():
                    self._move()

    def _move(self) -> None:
        """The journal's moves, each done at most once: safe to repeat after a crash."""
        journal = read_json(self.root / JOURNAL)
        aside = self.root / REPLACED
        aside.mkdir(exist_ok=True)
        for name in journal["put"]:
            if (self.root / name).exists():  # not moved yet
                _set_aside(self.shared / name, aside / name)
                os.replace(self.root / name, self.shared / name)
        for name in journal["drop"]:
            _set_aside(self.shared / name, aside / name)
        (self.root / JOURNAL).unlink()

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _set_aside(entry: Path, aside: Path) -> None:
    if aside.exists():  # from an attempt that died midway
        shutil.rmtree(aside) if aside.is_dir() else aside.unlink()
    if entry.exists():
        os.replace(entry, aside)


def _locked(shared: Path) -> AbstractContextManager[None]:
    """One publication at a time per experiment."""
    return exclusive(shared / RUNS / LOCK)


def _runs_in(shared: Path) -> list[RunDir]:
    """The run directories (with a lease) of one experiment."""
    return [RunDir(p.parent) for p in sorted(shared.glob(f"{RUNS}/*/{LEASE}"))]


def runs(artifacts: Path) -> list[RunDir]:
    """Every run directory (with a lease) under artifacts/*/.runs/."""
    return [RunDir(p.parent) for p in sorted(artifacts.glob(f"*/{RUNS}/*/{LEASE}"))]


def dead(artifacts: Path) -> Iterator[tuple[RunDir, Lease]]:
    """The run directories under `artifacts` whose process is gone, with their leases."""
    for found in runs(artifacts):
        try:
            lease = found.lease()
        except (OSError, ValueError, TypeError):  # removed meanwhile, or not ours
            continue
        if lease.gone():
            yield found, lease
