"""Where a run came from: git sha, dirty flag and a hash of the resolved config."""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core.names import snake

if TYPE_CHECKING:
    from mlplat.core.config import PlatformConfig


def _git(project: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=project, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_state(project: Path) -> dict[str, str]:
    sha = _git(project, "rev-parse", "HEAD")
    dirty = _git(project, "status", "--porcelain", "--untracked-files=no")
    return {
        "git_sha": sha or "unknown",
        "git_dirty": "unknown" if dirty is None else str(bool(dirty)).lower(),
    }


def config_dict(cfg: PlatformConfig) -> dict[str, Any]:
    return asdict(cfg)


# Groups that say who hears about a model, not what the model is: editing them trains the same
# model, so they stay out of the hash (and of a version's identity).
NOT_IDENTITY = ("notify",)


def config_hash(cfg: PlatformConfig) -> str:
    """Hash of the resolved declaration; two runs with equal hashes were configured the same."""
    tree = {k: v for k, v in config_dict(cfg).items() if k not in NOT_IDENTITY}
    text = json.dumps(tree, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def model_name(cfg: PlatformConfig) -> str:
    """The registered-model name; the target is named by its snake_case form (`Salary` ->
    `salary`, `F.Undergrad` -> `f_undergrad`): the data's names are not ours to police."""
    registry = cfg.registry
    return registry.model_name or registry.name_template.format(
        domain=registry.domain,
        target=snake(cfg.data.target),
        algorithm=cfg.model.algorithm,
        experiment=cfg.experiment_name,
    )
