"""The wheelhouse an image installs from: mlplat's own wheel plus the wheels of its `serve` extra.

mlplat's wheel is the running mlplat: assembled from its installed files after a `pip install`
(`mlplat.image.installed`), built from its source tree for an editable checkout. The rest is
resolved on the host with pip (a package index, or only a wheelhouse of your own with
PIP_NO_INDEX=1 and PIP_FIND_LINKS), so the image build itself needs no network. The wheels must
fit the image's python: the host's python minor version and platform must match the base
image's (both are CPython 3.11 on x86-64 Linux by default).
"""

from __future__ import annotations

import email.parser
import hashlib
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path

from mlplat.core.io import atomic_dir, cache_dir
from mlplat.image.errors import ImageError
from mlplat.image.installed import assemble_wheel, running_distribution
from mlplat.image.strip import strip_wheels

# `mlplat serve` runs through the `mlplat` console script: its entry point needs the CLI's own
# libraries, and the command reads conf/serving's typed config (omegaconf at import time), even
# when the serve extra does not list them.
CLI_PACKAGES = ("typer", "rich", "omegaconf")
SOURCE_FILES = ("pyproject.toml", "README.md", "LICENSE")


def source_root() -> Path:
    """mlplat's source tree (an editable or source checkout); the image installs a wheel of it."""
    import mlplat

    root = Path(mlplat.__file__).resolve().parent.parent
    if not (root / "pyproject.toml").is_file():
        raise ImageError(
            f"mlplat runs from '{root}', which is neither a pip installation of mlplat nor its "
            "source tree (no pyproject.toml): install mlplat with pip (`pip install mlplat`, "
            "or `pip install -e .` in a checkout)",
            file=str(root),
        )
    return root


def _pip(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", *args, "--disable-pip-version-check", "-q"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise ImageError(f"pip {args[0]} failed: {(done.stderr or done.stdout).strip()[-2000:]}")


def build_mlplat_wheel(dest: Path) -> Path:
    """Build from a copy of the sources so concurrent builds never share a build/ directory."""
    root = source_root()
    with tempfile.TemporaryDirectory(prefix="mlplat-src-") as tmp:
        for name in SOURCE_FILES:
            if (root / name).is_file():
                shutil.copy2(root / name, Path(tmp) / name)
        shutil.copytree(
            root / "mlplat",
            Path(tmp) / "mlplat",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
        dest.mkdir(parents=True, exist_ok=True)
        _pip("wheel", "--no-deps", "--wheel-dir", str(dest), tmp)
    return next(dest.glob("mlplat-*.whl"))


def mlplat_wheel(dest: Path) -> Path:
    """A wheel of the running mlplat, same version and files, in `dest`."""
    dist = running_distribution()
    return assemble_wheel(dist, dest) if dist is not None else build_mlplat_wheel(dest)


def requirements(wheel: Path) -> list[str]:
    """The `serve` extra plus the CLI's packages, read from the wheel's own metadata."""
    from packaging.requirements import Requirement

    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        meta = email.parser.Parser().parsestr(archive.read(name).decode())
    chosen: dict[str, str] = {}
    for line in meta.get_all("Requires-Dist") or []:
        req = Requirement(line)
        serve = req.marker is not None and req.marker.evaluate({"extra": "serve"})
        if serve or (req.marker is None and req.name in CLI_PACKAGES):
            req.marker = None
            chosen.setdefault(req.name.lower(), str(req))
    return sorted(chosen.values())


def dependency_wheels(reqs: list[str], dest: Path) -> None:
    """Wheels for `reqs` and their dependencies, cached per requirement set and platform."""
    key = hashlib.sha256("\n".join([sysconfig.get_platform(), sys.version[:4], *reqs]).encode())
    cached = cache_dir("wheelhouse") / key.hexdigest()[:16]
    if not cached.is_dir():
        with atomic_dir(cached) as tmp:
            _pip("wheel", "--prefer-binary", "--wheel-dir", str(tmp), *reqs)
            strip_wheels(tmp)
    shutil.copytree(cached, dest, dirs_exist_ok=True)


def write_wheelhouse(wheels: Path, app: Path) -> list[str]:
    """mlplat's wheel into `app`, its serve dependencies and requirements.txt into `wheels`."""
    wheel = mlplat_wheel(app)
    reqs = requirements(wheel)
    dependency_wheels(reqs, wheels)
    (wheels / "requirements.txt").write_text("\n".join(reqs) + "\n", encoding="utf-8")
    return reqs
