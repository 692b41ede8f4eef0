"""The cost profiler on real work (CPU, a child's memory, file writes) and the budget math."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlplat.core import budget, cost
from mlplat.core.config.ops import BudgetConfig, LimitConfig
from mlplat.core.errors import ConfigError

CHILD_MB = 150
CHILD = f"b = bytearray({CHILD_MB} * 1024 * 1024); import time; time.sleep(1.0)"


def test_sampler_counts_cpu_seconds_of_busy_work() -> None:
    with cost.Sampler(interval=0.05) as sampler:
        deadline = time.process_time() + 0.4
        while time.process_time() < deadline:
            sum(range(1000))
    usage = sampler.usage
    assert usage.cpu_user_seconds + usage.cpu_system_seconds >= 0.35
    assert usage.wall_seconds >= 0.35
    assert usage.threads >= 2  # this thread and the sampler's


def test_peak_memory_includes_child_processes() -> None:
    with cost.Sampler(interval=0.05) as alone:
        time.sleep(0.3)
    with cost.Sampler(interval=0.05) as with_child:
        subprocess.run([sys.executable, "-c", CHILD], check=True)
    assert with_child.usage.peak_rss_mb >= alone.usage.peak_rss_mb + CHILD_MB * 0.9
    assert with_child.usage.cpu_seconds > 0  # the waited child's CPU time counts


def test_bytes_written_are_counted(tmp_path: Path) -> None:
    with cost.Sampler() as sampler:
        (tmp_path / "blob").write_bytes(b"x" * 5_000_000)
    assert sampler.usage.bytes_written >= 5_000_000


def test_money_is_cpu_hours_plus_memory_gb_hours_plus_gpu_hours() -> None:
    prices = BudgetConfig(
        price_per_cpu_hour=2.0, price_per_gb_hour=0.5, price_per_gpu_hour=3.0, gpus=2
    )
    usage = cost.Usage(
        wall_seconds=1800, cpu_user_seconds=3000, cpu_system_seconds=600, peak_rss_mb=4096
    )
    assert cost.money(usage, prices) == pytest.approx(1.0 * 2.0 + 4 * 0.5 * 0.5 + 2 * 0.5 * 3.0)


def test_totals_add_times_and_take_the_peak() -> None:
    stages = {
        "a": cost.Usage(wall_seconds=1, cpu_user_seconds=1, peak_rss_mb=100, threads=4, money=0.5),
        "b": cost.Usage(wall_seconds=2, cpu_user_seconds=3, peak_rss_mb=300, threads=2, money=0.25),
    }
    total = cost.total(stages)
    assert (total.wall_seconds, total.cpu_user_seconds, total.money) == (3, 4, 0.75)
    assert (total.peak_rss_mb, total.threads) == (300, 4)
    metrics = cost.flat_metrics(cost.report(stages, BudgetConfig()))
    assert metrics["cost.b.peak_rss_mb"] == 300 and metrics["cost.total.money"] == 0.75


def test_breaches_name_the_stage_and_the_figures() -> None:
    limits = BudgetConfig(
        max_peak_memory_mb=LimitConfig(100, "fail"), max_money=LimitConfig(1.0, "warn")
    )
    found = budget.breaches(limits, "featurize", cost.Usage(peak_rss_mb=250.0, money=0.5))
    assert [(b.budget, b.policy) for b in found] == [("max_peak_memory_mb", "fail")]
    assert found[0].message() == (
        "budget max_peak_memory_mb exceeded in stage 'featurize': 250MB > limit 100MB"
    )


@pytest.mark.parametrize(
    ("name", "limit", "key"),
    [
        pytest.param(
            "max_peak_memory_mb", LimitConfig(1, "stop_early"), "policy", id="stop-early-memory"
        ),
        pytest.param("max_money", LimitConfig(1, "explode"), "policy", id="unknown-policy"),
        pytest.param("max_wall_seconds", LimitConfig(-1, "fail"), "limit", id="negative-limit"),
    ],
)
def test_bad_budget_declarations_are_refused(name: str, limit: LimitConfig, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        budget.check_policies(BudgetConfig(**{name: limit}))
    assert err.value.key == f"budget.{name}.{key}"


def test_sweep_stop_reasons() -> None:
    limits = BudgetConfig()
    limits.sweep.max_trials, limits.sweep.max_total_cost, limits.sweep.max_total_wall = 3, 0.01, 60
    assert budget.sweep_stop_reason(limits, 2, 0.001, 10) is None
    assert "max_trials" in (budget.sweep_stop_reason(limits, 3, 0.0, 0) or "")
    assert "max_total_cost" in (budget.sweep_stop_reason(limits, 1, 0.02, 0) or "")
    assert "max_total_wall" in (budget.sweep_stop_reason(limits, 1, 0.0, 61) or "")


def test_a_spike_between_samples_still_counts() -> None:
    """The process's own peak is the kernel's high-water mark, not the largest sample; a live
    child's memory (a kept helper process, say) adds to it."""
    import psutil

    holder = subprocess.Popen([sys.executable, "-c", CHILD.replace("sleep(1.0)", "sleep(5)")])
    try:
        time.sleep(0.5)  # it has allocated and sleeps through the block below
        before = psutil.Process().memory_info().rss / cost.MB
        held = psutil.Process(holder.pid).memory_info().rss / cost.MB
        with cost.Sampler(interval=60) as spiked:  # no sample can land inside the spike
            blob = bytearray(200 * 1024 * 1024)
            blob[::4096] = b"x" * len(blob[::4096])  # touch every page so it is resident
            del blob
    finally:
        holder.kill()
        holder.wait()
    assert held >= CHILD_MB * 0.9
    assert spiked.usage.peak_rss_mb >= before + held + 190
