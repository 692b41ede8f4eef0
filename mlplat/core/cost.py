"""What a piece of work cost: wall, CPU, peak memory (with child processes), I/O, threads, money.

CPU seconds and I/O bytes are deltas of the kernel's own counters, so they are exact whatever the
sampling rate. So is the process's own peak memory: Linux keeps its high-water mark (VmHWM), which
the sampler resets when a block starts (`/proc/self/clear_refs`) and reads when it ends. What has
no counter (the memory of live child processes, the thread count) is sampled twice a second by a
daemon thread. A sample costs a fraction of a millisecond, but it takes the GIL from the stage:
ten a second cost 3-4% of the evaluate stage's CPU (its BLAS and OpenMP threads spin while they
wait), two a second cost under 1% (see benchmarks/bench_cost_sweeps.py). Child processes are
found through Linux's /proc/PID/task/TID/children, not by scanning every process on the machine
(psutil's `children()` does that: milliseconds on a busy host).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import asdict, dataclass, fields
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psutil

    from mlplat.core.config.ops import BudgetConfig

MB = 1024 * 1024
SAMPLE_SECONDS = 0.5


@dataclass
class Usage:
    """The cost figures of one stage (or a whole run): `cost.<stage>.<figure>` in MLflow."""

    wall_seconds: float = 0.0
    cpu_user_seconds: float = 0.0
    cpu_system_seconds: float = 0.0
    peak_rss_mb: float = 0.0
    bytes_read: float = 0.0
    bytes_written: float = 0.0
    threads: float = 0.0
    money: float = 0.0

    @property
    def cpu_seconds(self) -> float:
        return self.cpu_user_seconds + self.cpu_system_seconds

    def as_dict(self) -> dict[str, float]:
        # money can be a few millionths of a cent per stage: keep its significant digits
        return {
            k: float(f"{v:.6g}") if k == "money" else round(float(v), 6)
            for k, v in asdict(self).items()
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Usage:
        names = {f.name for f in fields(cls)}
        return cls(**{k: float(v) for k, v in data.items() if k in names})


def money(usage: Usage, budget: BudgetConfig) -> float:
    """CPU-hours x price + GB-hours of peak memory x price (+ GPU-hours x price)."""
    hours = usage.wall_seconds / 3600.0
    return (
        usage.cpu_seconds / 3600.0 * budget.price_per_cpu_hour
        + usage.peak_rss_mb / 1024.0 * hours * budget.price_per_gb_hour
        + budget.gpus * hours * budget.price_per_gpu_hour
    )


def total(stages: dict[str, Usage]) -> Usage:
    """Run totals: times, bytes and money add up; peak memory and threads are the maximum."""
    parts = list(stages.values())
    return Usage(
        wall_seconds=sum(u.wall_seconds for u in parts),
        cpu_user_seconds=sum(u.cpu_user_seconds for u in parts),
        cpu_system_seconds=sum(u.cpu_system_seconds for u in parts),
        peak_rss_mb=max((u.peak_rss_mb for u in parts), default=0.0),
        bytes_read=sum(u.bytes_read for u in parts),
        bytes_written=sum(u.bytes_written for u in parts),
        threads=max((u.threads for u in parts), default=0.0),
        money=sum(u.money for u in parts),
    )


def report(stages: dict[str, Usage], budget: BudgetConfig) -> dict[str, Any]:
    """The body of cost.json: prices, per-stage figures and totals."""
    return {
        "currency": budget.currency,
        "prices": {
            "cpu_hour": budget.price_per_cpu_hour,
            "gb_hour": budget.price_per_gb_hour,
            "gpu_hour": budget.price_per_gpu_hour,
            "gpus": budget.gpus,
        },
        "order": list(stages),  # stage order (the JSON file's keys are sorted)
        "stages": {name: u.as_dict() for name, u in stages.items()},
        "total": total(stages).as_dict(),
    }


def flat_metrics(cost_report: dict[str, Any]) -> dict[str, float]:
    """cost.json -> MLflow metrics `cost.<stage>.<figure>` and `cost.total.<figure>`."""
    out = {
        f"cost.{stage}.{k}": v for stage, u in cost_report["stages"].items() for k, v in u.items()
    }
    out.update({f"cost.total.{k}": v for k, v in cost_report["total"].items()})
    return out


def _direct_children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:  # the process ended
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as fh:
                found.extend(int(x) for x in fh.read().split())
        except OSError:  # the thread ended meanwhile
            continue
    return found


def _has_proc_children(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}/task/{pid}/children")


class _Tree:
    """The process and its live descendants, keeping psutil handles between samples."""

    def __init__(self, proc: psutil.Process) -> None:
        self.proc = proc
        self.fast = _has_proc_children(proc.pid)
        self.handles: dict[int, psutil.Process] = {proc.pid: proc}

    def _pids(self) -> list[int]:
        pids, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            todo.extend(_direct_children(pid))
        return pids

    def members(self) -> list[psutil.Process]:
        import psutil

        if not self.fast:
            try:
                return [self.proc, *self.proc.children(recursive=True)]
            except psutil.Error:
                return [self.proc]
        live: dict[int, psutil.Process] = {}
        for pid in self._pids():  # ended children drop out; a reused pid gets a new handle
            try:
                live[pid] = self.handles.get(pid) or psutil.Process(pid)
            except psutil.Error:
                continue
        self.handles = live
        return list(live.values())


def _memory_and_threads(tree: _Tree) -> tuple[int, int, int]:
    """Resident bytes of the process, resident bytes of its live children, and the threads of
    all of them."""
    import psutil

    own = children = threads = 0
    for member in tree.members():
        try:
            with member.oneshot():
                rss = member.memory_info().rss
                threads += member.num_threads()
        except psutil.Error:  # a child that ended between listing and reading
            continue
        if member.pid == tree.proc.pid:
            own = rss
        else:
            children += rss
    return own, children, threads


def _reset_peak() -> bool:
    """Restart this process's memory high-water mark; False where the kernel offers none."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _peak_since_reset() -> int:
    """This process's peak resident bytes since `_reset_peak` (VmHWM), 0 if unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _io(proc: psutil.Process) -> tuple[int, int]:
    """Bytes through read()/write() (page cache included); platforms without it report 0."""
    try:
        counters = proc.io_counters()
    except (AttributeError, NotImplementedError):
        return 0, 0
    read = getattr(counters, "read_chars", counters.read_bytes)
    return int(read), int(getattr(counters, "write_chars", counters.write_bytes))


def _cpu(proc: psutil.Process) -> tuple[float, float]:
    """User and system seconds, including children that have ended and been waited for."""
    t = proc.cpu_times()
    return t.user + t.children_user, t.system + t.children_system


class Sampler:
    """`with Sampler() as s: work()` then `s.usage`: the cost of the work inside the block."""

    def __init__(self, interval: float = SAMPLE_SECONDS) -> None:
        import psutil

        self.interval = interval
        self.proc = psutil.Process()
        self.tree = _Tree(self.proc)
        self.usage = Usage()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._peak_rss = self._peak_threads = 0
        self._least_children = -1  # the children's smallest sampled total (-1: none sampled)
        self._high_water = False  # the kernel keeps this process's peak (reset on enter)

    def sample(self) -> None:
        own, children, threads = _memory_and_threads(self.tree)
        self._peak_rss = max(self._peak_rss, own + children)
        self._peak_threads = max(self._peak_threads, threads)
        least = self._least_children
        self._least_children = children if least < 0 else min(least, children)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> Sampler:
        self._start = (time.perf_counter(), _cpu(self.proc), _io(self.proc))
        self._high_water = _reset_peak()
        self.sample()
        self._thread = threading.Thread(target=self._loop, name="mlplat-cost", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()
        if self._high_water:  # the process's own peak is exact; its children's only sampled,
            # so add the least they were seen to hold (a kept helper process holds it throughout)
            own_peak = _peak_since_reset() + max(self._least_children, 0)
            self._peak_rss = max(self._peak_rss, own_peak)
        (wall0, (user0, sys0), (read0, written0)) = self._start
        (user1, sys1), (read1, written1) = _cpu(self.proc), _io(self.proc)
        self.usage = Usage(
            wall_seconds=time.perf_counter() - wall0,
            cpu_user_seconds=user1 - user0,
            cpu_system_seconds=sys1 - sys0,
            peak_rss_mb=self._peak_rss / MB,
            bytes_read=read1 - read0,
            bytes_written=written1 - written0,
            threads=self._peak_threads,
        )
