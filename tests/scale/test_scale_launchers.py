"""conf/hydra/launcher/ presets compose to the launcher config their plugins read. The joblib
preset (`parallel`) also runs, in tests/scale/test_scale_tracking_server.py (the 4-trial sweep on
the MLflow server); SLURM and Ray have no cluster here to submit to."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import REPO


def launcher(name: str, *overrides: str) -> dict[str, Any]:
    """`hydra.launcher` as Hydra composes it for `hydra/launcher=NAME` (interpolations unresolved,
    as the launcher receives them)."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from mlplat.core.config import register_schemas

    register_schemas()
    with initialize_config_dir(str(REPO / "conf"), version_base="1.3"):
        cfg = compose(
            "config", overrides=[f"hydra/launcher={name}", *overrides], return_hydra_config=True
        )
    tree = OmegaConf.to_container(cfg.hydra.launcher, resolve=False)
    assert isinstance(tree, dict)
    return tree


@pytest.mark.parametrize(
    ("preset", "target", "settings"),
    [
        pytest.param(
            "parallel",
            "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher",
            {"n_jobs": 2, "prefer": "processes"},
            id="joblib",
        ),
        pytest.param(
            "slurm",
            "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher",
            {
                "cpus_per_task": 2,
                "mem_gb": 4,
                "nodes": 1,
                "timeout_min": 60,
                "array_parallelism": 16,
                "submitit_folder": "${hydra.sweep.dir}/.submitit/%j",
            },
            id="submitit-slurm",
        ),
        pytest.param(
            "ray_cluster",
            "hydra_plugins.hydra_ray_launcher.ray_launcher.RayLauncher",
            {"ray": {"remote": {"num_cpus": 2, "max_retries": 0}}},
            id="ray",
        ),
    ],
)
def test_preset_composes_to_its_launcher_config(
    preset: str, target: str, settings: dict[str, Any]
) -> None:
    tree = launcher(preset)
    assert tree["_target_"] == target
    assert subset(settings, tree)


def subset(wanted: dict[str, Any], tree: dict[str, Any]) -> bool:
    return all(
        subset(v, tree.get(k, {})) if isinstance(v, dict) else tree.get(k) == v
        for k, v in wanted.items()
    )


def test_presets_take_overrides_like_any_launcher() -> None:
    tree = launcher("slurm", "hydra.launcher.partition=gpu", "hydra.launcher.timeout_min=5")
    assert (tree["partition"], tree["timeout_min"]) == ("gpu", 5)


def test_the_slurm_preset_names_an_importable_launcher() -> None:
    from hydra.utils import get_class

    assert get_class(launcher("slurm")["_target_"]).__name__ == "SlurmLauncher"
