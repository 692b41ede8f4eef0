"""The HTML report is self-contained: headless Chromium opens it offline, with no console errors,
and a screenshot shows the plots drawn. `dvc plots show` renders the curve files."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlplat.core.config import PlatformConfig
from mlplat.core.config.model import ModelConfig
from mlplat.core.config.validation import GatesConfig, SegmentConfig, SegmentsConfig
from mlplat.stages.evaluate import curves, discovery, fast, gates, report, segments
from tests.conftest import in_ci, skip_or_fail

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # offline: any request that tries to leave goes to a closed local port and fails
    "--proxy-server=http://127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--enable-logging=stderr",
    "--v=0",
    "--hide-scrollbars",
    "--window-size=1280,4200",
)
CONSOLE = re.compile(r":CONSOLE[:(]|Failed to load resource|net::ERR_")


def _evaluation() -> tuple[dict[str, Any], dict[str, Any], dict[str, list[dict[str, float]]]]:
    rng = np.random.default_rng(3)
    rows = 1500
    frame = pd.DataFrame(
        {"region": rng.choice(["north", "south", "east"], rows), "age": rng.normal(40, 10, rows)}
    )
    signal = rng.normal(size=rows)
    y = (rng.random(rows) < 1 / (1 + np.exp(-2 * signal))).astype(float)
    p = 1 / (1 + np.exp(-2 * (signal + 0.5 * rng.normal(size=rows))))
    cfg = PlatformConfig(
        model=ModelConfig(task="binary"),
        segments=SegmentsConfig(
            bootstrap=50, slices={"region": SegmentConfig(column="region", each_value=True)}
        ),
        gates=GatesConfig(floors={"auc": 0.6}, segment_floors={"auc": 0.9}, champion_metric="auc"),
    )
    overall = fast.binary(y, p)
    evaluation = {
        "task": "binary",
        "rows": rows,
        "primary_metric": "auc",
        "overall": overall,
        "overall_ci": {},
        "baselines": {"constant": fast.binary(y, np.full(rows, y.mean()))},
        "lift": {"constant": overall["auc"] - 0.5},
        "segments": segments.evaluate(frame, y, p, "binary", 0.5, cfg.segments, 1),
        "discovery": discovery.scan(
            frame, y, p, "binary", 0.5, ["region", "age"], cfg.segments.discovery
        ),
    }
    verdict = gates.decide(cfg, evaluation, frame, y, p, np.clip(p + 0.01, 0, 1), "4")
    return evaluation, verdict, curves.curves("binary", y, p)


def _open(page: Path, out: Path) -> tuple[str, np.ndarray]:
    """Chromium's log and the screenshot (RGB array) of `page`, in a fresh profile."""
    from PIL import Image

    shot = out / f"{page.stem}.png"
    done = subprocess.run(
        [
            str(CHROMIUM),
            *FLAGS,
            f"--user-data-dir={out / ('profile-' + page.stem)}",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    return done.stderr, np.asarray(Image.open(shot).convert("RGB")).astype(int)


def _blue_pixels(image: np.ndarray) -> int:
    """Pixels of the plots' blue (#1f77b4 and its fills); text and tables have none."""
    r, g, b = image[..., 0], image[..., 1], image[..., 2]
    return int(np.sum((b - r > 40) & (b - g > 15)))


@pytest.fixture(scope="module")
def browser() -> str:
    if CHROMIUM is None:
        why = "chromium is not installed (apt-get install -y chromium)"
        skip_or_fail(f"{why}; the browser test of the report did not run", required=in_ci())
    return CHROMIUM


def test_report_opens_offline_without_errors_and_shows_plots(browser: str, tmp_path: Path) -> None:
    evaluation, verdict, found = _evaluation()
    gains = {"region": 120.0, "age": 45.0}
    page = tmp_path / "report.html"
    pngs = report.images(evaluation, found, gains, report.failed_segments(verdict))
    page.write_text(report.render("demo", evaluation, pngs, verdict), encoding="utf-8")
    bare = tmp_path / "bare.html"  # the same report without its plots: the screenshot control
    bare.write_text(
        report.render("demo", {**evaluation, "segments": []}, {}, verdict), encoding="utf-8"
    )

    log, image = _open(page, tmp_path)
    assert not [line for line in log.splitlines() if CONSOLE.search(line)], log[-2000:]
    _, control = _open(bare, tmp_path)
    assert _blue_pixels(image) > 20_000 and _blue_pixels(control) < 500
    colors = [len(np.unique(shot.reshape(-1, 3), axis=0)) for shot in (image, control)]
    assert colors[0] > colors[1] + 300  # plots add colours that text on white does not have

    html = page.read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 5  # roc, pr, calibration, segments, importance
    assert "not promoted" in html.lower() and "segment_floor.auc on region" in html


def test_console_errors_are_detected(browser: str, tmp_path: Path) -> None:
    """The check above can fail: a page that logs an error is caught."""
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><title>x</title><script>console.error("boom"); missing();</script>'
    )
    log, _ = _open(page, tmp_path)
    assert any(CONSOLE.search(line) and "boom" in line for line in log.splitlines())


def test_dvc_plots_show_renders_the_curves(tmp_path: Path) -> None:
    """The curve files are what `dvc plots show` reads: it renders them as Vega-Lite."""
    import sys

    _, _, found = _evaluation()
    plots = tmp_path / "evaluate" / "plots"
    plots.mkdir(parents=True)
    for name, content in curves.files(found).items():
        (plots / name).write_text(json.dumps(content))
    dvc = str(Path(sys.executable).parent / "dvc")
    subprocess.run([dvc, "init", "--no-scm", "-q"], cwd=tmp_path, check=True, timeout=120)
    done = subprocess.run(
        [dvc, "plots", "show", "evaluate/plots/roc.json", "-x", "fpr", "-y", "tpr", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    rendered = json.loads(done.stdout)["data"]
    (entry,) = rendered["evaluate/plots/roc.json"]
    assert entry["type"] == "vega"
    values = entry["content"]["data"]["values"]
    assert len(values) == len(found["roc"]) and {"fpr", "tpr"} <= set(values[0])
