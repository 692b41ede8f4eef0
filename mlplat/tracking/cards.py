"""Model cards in the tracking store: the evidence a card is built from, read from the registry
and the version's run; the card written to that run at registration, linked from the version's
description; and a card diff on the new champion's run at every promotion.

Everything here goes through the caller's `MlflowClient` (a Tracker's `client`, or the one an
alias move holds), so a card is read from and written to exactly the store the version lives in.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core.card import diff as card_diff
from mlplat.core.card import render
from mlplat.core.card.build import FILES, PLOTS, Evidence, build, card_config
from mlplat.core.card.model import Card
from mlplat.core.config.card import CardConfig
from mlplat.core.errors import RegistryError

if TYPE_CHECKING:
    from mlflow import MlflowClient

_log = logging.getLogger(__name__)
CARD_DIR = "card"  # on the version's run: card/card.md, card/card.json, card/card.html
CARD_TAG = "mlplat.card"  # on the version: the run artifact path of the Markdown card
DIFF_TAG = "mlplat.card_diff"  # on the new champion's version: the diff's artifact path
SCORE_EXPERIMENT, MONITOR_EXPERIMENT = "mlplat-score", "mlplat-monitor"
RESOLVED = "config/resolved.yaml"  # the run's whole resolved config, logged by tracking.runs
# what a card reads of the run, by top-level artifact (files and folders)
CARD_INPUTS = ("config", "evaluate", "validation", "profile", "cost.json")


def _iso(millis: int | None) -> str:
    when = dt.datetime.fromtimestamp((millis or 0) / 1000, dt.UTC)
    return when.isoformat(timespec="seconds")


def _artifacts(
    client: MlflowClient, run_id: str, where: Path
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The run's card inputs, parsed, and its plots; a file the run does not hold is left out.
    Whole folders in one download each: a request per file was a second per card."""
    import yaml

    held = {a.path for a in client.list_artifacts(run_id)}
    for folder in CARD_INPUTS:
        if folder in held:
            client.download_artifacts(run_id, folder, str(where))
    files = {
        path: yaml.safe_load(text) if path.endswith(".yaml") else json.loads(text)
        for path in (*FILES, RESOLVED)
        if (text := _read(where / path)) is not None
    }
    plots = {n: p.read_bytes() for n in PLOTS if (p := where / f"evaluate/plots/{n}.png").is_file()}
    return files, plots


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _latest_before(
    client: MlflowClient, experiment: str, millis: int, extra: str = ""
) -> Any | None:
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return None
    runs = client.search_runs(
        [found.experiment_id],
        f"attributes.start_time <= {millis}{extra}",
        max_results=1,
        order_by=["attributes.start_time DESC"],
    )
    return runs[0] if runs else None


def _test_score(client: MlflowClient, millis: int) -> dict[str, Any] | None:
    run = _latest_before(client, SCORE_EXPERIMENT, millis)
    if run is None or "score.final" not in run.data.metrics:
        return None
    return {"final": run.data.metrics["score.final"], "date": _iso(run.info.start_time)[:10]}


def _drift(client: MlflowClient, name: str, millis: int) -> str | None:
    run = _latest_before(client, MONITOR_EXPERIMENT, millis)
    if run is None or name not in run.data.tags.get("mlplat.monitor.model", ""):
        return None
    breaches = int(run.data.metrics.get("monitor.breaches", 0))
    healthy = run.data.tags.get("mlplat.monitor.healthy") == "true"
    state = "healthy" if healthy else f"{breaches} breach(es)"
    return f"{state} at the last `mlplat monitor` before registration ({_iso(run.info.start_time)})"


def collect(client: MlflowClient, name: str, version: str) -> Evidence:
    """Everything a card of `name` v`version` says, from the registry and the version's run."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    found = client.get_model_version(name, str(version))
    if not found.run_id:
        raise RegistryError(f"models:/{name}/{version} has no run to build a card from")
    created = int(found.creation_timestamp or 0)
    with tempfile.TemporaryDirectory(prefix="mlplat-card-") as tmp:
        files, plots = _artifacts(client, found.run_id, Path(tmp))
    return Evidence(
        name=name,
        version=str(version),
        created=_iso(created),
        run_id=str(found.run_id),
        version_tags=dict(found.tags or {}),
        config=files.pop(RESOLVED, None) or {},
        files=files,
        plots=plots,
        test_score=_test_score(client, created),
        drift=_drift(client, name, created),
    )


def card_of(client: MlflowClient, name: str, version: str, declared: CardConfig) -> Card:
    """The card of a registered version; `declared`: the project's `card` group, used only for a
    version trained before the group existed."""
    evidence = collect(client, name, version)
    return build(evidence, card_config(evidence.config, declared))


def write(client: MlflowClient, card: Card) -> str:
    """Log the card's three renderings on the version's run and link them from the version:
    a tag and its description (what the MLflow UI shows). Returns the run artifact path."""
    name, version = card.details.name, card.details.version
    with tempfile.TemporaryDirectory(prefix="mlplat-card-") as tmp:
        for file, text in render.files(card).items():
            (Path(tmp) / file).write_text(text, encoding="utf-8")
        client.log_artifacts(card.details.run_id, tmp, CARD_DIR)
    path = f"{CARD_DIR}/{render.MARKDOWN}"
    client.set_model_version_tag(name, version, CARD_TAG, path)
    client.update_model_version(name, version, description=render.description(card, CARD_DIR))
    return path


def at_registration(client: MlflowClient, name: str, version: str, declared: CardConfig) -> str:
    """The card of a version just registered, written; a card that cannot be written is a
    warning (the version is registered and judged already), never a failed run."""
    try:
        card = build(collect(client, name, version), declared)
        return write(client, card)
    except Exception as exc:  # reported, the registration stands
        _log.warning("no model card for models:/%s/%s: %s", name, version, exc)
        return ""


def at_promotion(client: MlflowClient, name: str, previous: str, version: str) -> str:
    """The card diff of the champion just moved (`previous` -> `version`), on the new
    champion's run and tagged on its version; a diff that cannot be written is a warning."""
    try:
        old = card_of(client, name, previous, CardConfig())
        new = card_of(client, name, version, CardConfig())
        change = card_diff.compare(old, new)
        path = f"{CARD_DIR}/diff-v{previous}-v{version}.md"
        with tempfile.TemporaryDirectory(prefix="mlplat-card-diff-") as tmp:
            file = Path(tmp) / Path(path).name
            file.write_text(card_diff.markdown(change), encoding="utf-8")
            client.log_artifact(new.details.run_id, str(file), CARD_DIR)
        client.set_model_version_tag(name, version, DIFF_TAG, path)
        return path
    except Exception as exc:  # reported, the promotion stands
        _log.warning("no card diff for %s v%s -> v%s: %s", name, previous, version, exc)
        return ""
