"""Hydra composition for every command: `conf/` of the project plus mlplat's typed schema.

`mlplat run` hands its whole command line to Hydra (overrides, -m, --cfg, --help, launchers);
other commands compose once through Hydra's compose API. Either way the config becomes a typed
`PlatformConfig` at this boundary.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core.config import PlatformConfig, register_schemas
from mlplat.core.errors import ConfigError
from mlplat.pipeline.boundary import to_platform

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from mlplat.core.config.ops import ServingConfig


def conf_dir(project: Path) -> Path:
    path = project / "conf"
    if not (path / "config.yaml").is_file():
        raise ConfigError(
            f"no conf/config.yaml under '{project}': run mlplat in a project or `mlplat init DIR`",
            file=str(path / "config.yaml"),
        )
    return path


@contextmanager
def _raising_hydra() -> Iterator[None]:
    """Hydra prints errors and exits 1 itself; make it raise so mlplat reports them (exit 2)."""
    previous = os.environ.get("HYDRA_FULL_ERROR")
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = previous


def hydra_main(
    project: Path, args: list[str], task: Callable[[PlatformConfig], Any], prog: str
) -> None:
    """Run `task` under Hydra's own command line, exactly as a @hydra.main app would."""
    import hydra

    register_schemas()
    config_path = str(conf_dir(project))

    failures: list[BaseException] = []

    @hydra.main(config_path=config_path, config_name="config", version_base="1.3")
    def _entry(cfg: DictConfig) -> Any:
        try:
            return task(to_platform(cfg))
        except Exception as exc:
            if _in_multirun():
                raise  # Hydra's launchers report failed trials themselves
            failures.append(exc)  # re-raised below, so Hydra does not print its own banner
            return None

    argv = sys.argv
    sys.argv = [prog, *args]
    try:
        with _raising_hydra():
            _entry()
    finally:
        sys.argv = argv
    if failures:
        raise failures[0]


def _in_multirun() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def compose(project: Path, overrides: list[str]) -> PlatformConfig:
    """One composition, no Hydra run: for commands that are not jobs (validate, compile, lint)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    register_schemas()
    with _raising_hydra(), initialize_config_dir(str(conf_dir(project)), version_base="1.3"):
        return to_platform(hydra_compose("config", overrides=overrides))


def project_config(project: Path, overrides: list[str]) -> tuple[ServingConfig, str | None]:
    """conf/serving and the tracking URI of the project; outside a project, the defaults."""
    cfg, uri = project_declaration(project, overrides)
    return cfg.serving, uri


def project_declaration(project: Path, overrides: list[str]) -> tuple[PlatformConfig, str | None]:
    """The project's whole declaration and tracking URI; outside a project, the defaults."""
    if not (project / "conf" / "config.yaml").is_file():
        if overrides:
            raise ConfigError(
                "overrides need a project: no conf/config.yaml here", key=overrides[0]
            )
        return PlatformConfig(), os.environ.get("MLFLOW_TRACKING_URI")
    from mlplat.core import tracking_store
    from mlplat.tracking.runs import tracking_uri

    cfg = compose(project, overrides)
    uri = tracking_uri(cfg, project)
    tracking_store.apply_limits(cfg.tracking, uri)  # the project's declared HTTP budget
    return cfg, uri
