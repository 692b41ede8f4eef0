"""Strict configuration: what the composition-time checks cost, each in a fresh process (medians).

- the LightGBM parameter table read through ctypes (what mlplat does) next to `import lightgbm`
  (what reading it through the Python package would cost first);
- the data file's header (what the column check reads) on the example's CSV and on a 1M-row one;
- the whole `compose(+experiment=churn_baseline)` of the example, checks included, and the
  checks alone (`boundary.check` on the composed config).

    .venv/bin/python benchmarks/bench_config_checks.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

SNIPPETS = {
    "LightGBM table via ctypes (mlplat)": (
        "from mlplat.core.config import lightgbm_params",
        "lightgbm_params.table()",
    ),
    "import lightgbm (the package route)": ("", "import lightgbm"),
    "header of data/churn.csv (30,000 rows)": (
        "from mlplat.core import dataio",
        "dataio.header('{repo}/data/churn.csv')",
    ),
    "header of a 1,000,000-row CSV": (
        "from mlplat.core import dataio",
        "dataio.header('{big}')",
    ),
    "compose +experiment=churn_baseline (checks included)": (
        "from pathlib import Path; from mlplat.pipeline.compose import compose",
        "compose(Path('{repo}'), ['+experiment=churn_baseline'])",
    ),
    "boundary.check alone, on the composed config": (
        "from pathlib import Path; from mlplat.pipeline import compose as c, boundary; "
        "from omegaconf import OmegaConf; c.register_schemas(); "
        "from hydra import compose as hc, initialize_config_dir\n"
        "with initialize_config_dir('{repo}/conf', version_base='1.3'):\n"
        "    raw = hc('config', overrides=['+experiment=churn_baseline'])\n"
        "typed = OmegaConf.to_object(raw)",
        "boundary.check(typed)",
    ),
}


def timed(setup: str, statement: str) -> float:
    """Seconds `statement` takes in a fresh interpreter, after `setup` (not timed)."""
    code = (
        f"{setup}\nimport time\nstarted = time.perf_counter()\n{statement}\n"
        "print(time.perf_counter() - started)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, check=True, capture_output=True, text=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def big_csv(path: Path) -> None:
    from mlplat.example.churn import write

    write(path, rows=1_000_000)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.csv"
        big_csv(big)
        print(f"| what (fresh process each time), median of {args.repeats} | ms |")
        print("|---|---:|")
        for name, (setup, statement) in SNIPPETS.items():
            setup, statement = (s.format(repo=REPO, big=big) for s in (setup, statement))
            median = statistics.median(timed(setup, statement) for _ in range(args.repeats))
            print(f"| {name} | {median * 1000:.1f} |")


if __name__ == "__main__":
    main()
