"""Where a `mlplat run` spends its cores: CPU use of the first process and of its stage process,
per half second, read from /proc (Linux) while the run goes on.

    .venv/bin/python benchmarks/run_timeline.py PROJECT [OVERRIDES...]
    .venv/bin/python benchmarks/run_timeline.py /tmp/proj segments=none registry.register=false

PROJECT is a project directory (conf/ and data/, e.g. one `mlplat init` made); the run is
`mlplat run +experiment=churn_baseline OVERRIDES`. A row with the two columns summing to less than
the machine's cores is time a core stood idle.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
STEP = 0.5  # seconds between readings


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, every thread included (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    except OSError:
        pass
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    command = [sys.executable, "-m", "mlplat.cli.main", "run", "+experiment=churn_baseline"]
    run = subprocess.Popen(
        [*command, *args.overrides],
        cwd=args.project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    started, seen = time.perf_counter(), (0.0, 0.0)
    print("    t  first process  stage process  (cores in use)")
    while run.poll() is None:
        time.sleep(STEP)
        first = cpu_seconds(run.pid)
        stages = sum(cpu_seconds(c) for c in children(run.pid))
        used = ((first - seen[0]) / STEP, max(stages - seen[1], 0.0) / STEP)
        print(f"{time.perf_counter() - started:5.1f}s {used[0]:14.2f} {used[1]:14.2f}")
        seen = (first, stages)
    _, err = run.communicate()
    if run.returncode != 0:
        raise SystemExit(f"mlplat run failed:\n{err[-3000:]}")
    print("\n".join(line for line in err.splitlines() if "✓" in line))


if __name__ == "__main__":
    main()
