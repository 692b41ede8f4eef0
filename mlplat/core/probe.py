"""Parse a bundle's model and score its own sample rows in a child process, before a process that
must not die loads it.

LightGBM does not always raise on a malformed model file: an error inside its parallel tree
parser escapes an OpenMP region and calls std::terminate, which aborts the whole process
(SIGABRT). A server that parses a new version in-process dies with it, in-flight requests and
all, and crash-loops on restart. So every caller that loads a bundle it did not just write (the
server at start-up and on hot swap, `mlplat monitor`, the champion comparison of the gates,
`mlplat image test`) calls `probe(directory)` first: a fresh interpreter verifies the checksums,
parses model.txt and scores the sample rows; only if it exits cleanly does the caller load the
bundle itself. The child is `python -m mlplat.core.probe DIR TIMEOUT`.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core.bundle import BundleError
from mlplat.core.errors import MlplatError

if TYPE_CHECKING:
    import numpy as np

PROBE_TIMEOUT_SECONDS = 60.0  # parse + score 20 rows; a model that needs longer is unusable here
OK, FAILED = "mlplat-probe: ok ", "mlplat-probe: failed "
# LightGBM imports these integrations when they are installed: over a second of start-up that
# parsing a model and predicting a numpy matrix never use. Blocked in the child only.
UNUSED = (
    "sklearn",
    "pandas",
    "pyarrow",
    "polars",
    "dask",
    "distributed",
    "matplotlib",
    "graphviz",
    "datatable",
    "cffi",
)


class ProbeError(BundleError):
    """The bundle's model cannot be parsed, or cannot score its own sample rows."""


@dataclass(frozen=True)
class Probed:
    rows: int  # sample rows the child scored
    seconds: float  # wall time of the child, start-up included


def probe(directory: str | Path, timeout: float = PROBE_TIMEOUT_SECONDS) -> Probed:
    """Raise ProbeError with the reason unless a child process loads and scores the bundle."""
    started = time.perf_counter()
    # -P: the caller's working directory is not on the child's import path. One OpenMP thread:
    # the probe takes one core from a busy server, and a parse error is reported in file order.
    command = [sys.executable, "-P", "-m", "mlplat.core.probe", str(directory), str(timeout)]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            errors="replace",
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
    except subprocess.TimeoutExpired as exc:
        raise ProbeError(
            f"the model did not load and score its sample rows within {timeout:g} s",
            file=str(directory),
        ) from exc
    return Probed(_rows(done, directory), time.perf_counter() - started)


def _rows(done: subprocess.CompletedProcess[str], directory: str | Path) -> int:
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(OK) and done.returncode == 0:
            return int(json.loads(line.removeprefix(OK))["rows"])
        if line.startswith(FAILED):
            raise ProbeError(line.removeprefix(FAILED), file=str(directory))
    raise ProbeError(crash_reason(done.returncode, done.stderr), file=str(directory))


def crash_reason(returncode: int, stderr: str) -> str:
    """One line for a child that died without reporting: the signal and LightGBM's first fatal
    message (the rest repeat it about later trees, with model numbers in them)."""
    if returncode < 0:
        how = f"signal {signal.Signals(-returncode).name}"
    else:
        how = f"exit code {returncode}"
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    fatal = [line.split("]", 2)[-1].strip() for line in lines if "[Fatal]" in line]
    detail = (fatal or lines[-1:] or ["no output"])[0]
    return f"loading the model crashed a child process ({how}): {detail[:200]}"


def sample_columns(sample: dict[str, Any]) -> tuple[dict[str, list[Any]], int]:
    """The bundle's sample rows (`{"columns": [...], "data": [[...], ...]}`) as columns."""
    names, rows = sample.get("columns") or [], sample.get("data") or []
    return {c: [r[j] for r in rows] for j, c in enumerate(names)}, len(rows)


def prediction_problem(task: str, predictions: np.ndarray, rows: int) -> str | None:
    """What is wrong with a model's predictions of its own sample rows, or None."""
    import numpy as np

    values = np.asarray(predictions, dtype="float64")
    if values.shape[:1] != (rows,):
        return f"{rows} sample rows gave predictions of shape {values.shape}"
    if not np.isfinite(values).all():
        return "the sample predictions are not finite"
    if task == "binary" and not ((values >= 0.0) & (values <= 1.0)).all():
        return "binary predictions outside [0, 1]"
    return None


def check(directory: Path) -> int:
    """In the child: checksums, parse, featurize and score the sample rows (no pandas)."""
    import numpy as np

    from mlplat.core.bundle import load_bundle
    from mlplat.core.fastfeatures import compile_spec

    bundle = load_bundle(directory)
    columns, rows = sample_columns(bundle.sample)
    if not rows:
        raise ProbeError("the bundle has no sample rows to check the model with")
    matrix = compile_spec(bundle.feature_spec)(columns, rows)
    problem = prediction_problem(bundle.task, np.asarray(bundle.booster.predict(matrix)), rows)
    if problem:
        raise ProbeError(problem)
    return rows


def main(argv: Sequence[str]) -> int:
    directory, timeout = Path(argv[0]), float(argv[1])
    signal.alarm(math.ceil(timeout) + 5)  # a child whose parent was killed still ends
    for name in UNUSED:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # None: "not installed"
    try:
        rows = check(directory)
    except Exception as exc:  # reported to the parent, which decides what it means
        text = exc.one_line() if isinstance(exc, MlplatError) else f"{type(exc).__name__}: {exc}"
        print(FAILED + " ".join(text.split()), flush=True)
        return 1
    print(OK + json.dumps({"rows": rows}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
