"""A running split or canary that stops its challenger itself, recorded as `online decide` does.

The server judges its guardrails live (`serving.online.guard`) and, on a breach, hands the stop
here: it becomes a `rollback` decision recorded by the same `stop` and `tell` as `mlplat online
decide`, so the MLflow run in `mlplat-online`, the evidence on the version, the note in the alias
history and the notifications are the same whoever stopped the challenger.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from mlplat.serving.online.guard import Stop

if TYPE_CHECKING:
    from mlplat.core.config import PlatformConfig
    from mlplat.serving.app import ScoringApp
    from mlplat.serving.online.experiment import Recorder

FACTORY = "mlplat.online.live:app_from_env"  # uvicorn's factory for `--workers N`


def record(cfg: PlatformConfig, project: Path, uri: str | None, made: Stop) -> str:
    """Carry a server's stop out as a rollback decision; returns what was done."""
    from mlplat.core import provenance
    from mlplat.core.config.online import row_loss
    from mlplat.core.vocabulary import Verdict
    from mlplat.online.decision import Decision, stop, tell
    from mlplat.serving.online.state import layout_of
    from mlplat.tracking.tracker import Tracker

    decision = Decision(
        verdict=Verdict.ROLLBACK,
        reason=f"{made.reason} (stopped by the server)",
        metric=row_loss(cfg.online, cfg.model.task),
        mode=made.mode,
        overall=None,
        guardrails=list(made.guardrails),
        versions=dict(made.versions),
    )
    layout = layout_of(cfg.online, cfg.experiment_name, project)
    done = stop(decision, layout, cfg, Tracker.of(project, uri), provenance.model_name(cfg))
    tell(decision, cfg, project, done)
    return done


def recorder(cfg: PlatformConfig, project: Path, uri: str | None) -> Recorder:
    return functools.partial(record, cfg, project, uri)


def _composed(project: str, overrides: tuple[str, ...], stop: Stop) -> str:
    """In a worker: the declaration is composed when a stop needs it, not at every start."""
    from mlplat.pipeline.compose import project_declaration

    cfg, uri = project_declaration(Path(project), list(overrides))
    return record(cfg, Path(project), uri, stop)


def app_from_env() -> ScoringApp:
    """uvicorn's factory for `--workers N` with an experiment: the serving app plus a
    recorder of the stops it makes."""
    from mlplat.serving.app import create_app
    from mlplat.serving.settings import ServeSettings

    settings = ServeSettings.from_env()
    online = settings.online
    if online is None or not online.project:
        return create_app(settings)
    return create_app(settings, functools.partial(_composed, online.project, online.overrides))
