"""The pickle-free serving bundle: LightGBM text model + JSON spec, schema, profile and metadata.

Serving, images and monitoring depend only on this module (and `features`), never on training
code. MANIFEST.json lists every file of the bundle with its sha256; `verify` holds a bundle to it
exactly (nothing unlisted, nothing outside, no symlink), and the manifest's own sha256, pinned on
the registry version at registration, ties a downloaded bundle to what was registered.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.core import features as feature_code
from mlplat.core.errors import MlplatError
from mlplat.core.io import atomic_dir, read_json, sha256_file, write_json

if TYPE_CHECKING:
    import lightgbm
    import numpy as np
    import pandas as pd

MANIFEST = "MANIFEST.json"
MODEL_FILE = "model.txt"
JSON_PARTS = ("feature_spec", "schema", "profile", "metadata", "sample")
# The registry version tag holding the sha256 of the bundle's MANIFEST.json, set at registration.
MANIFEST_TAG = "mlplat.manifest_sha256"


class BundleError(MlplatError):
    """A bundle is not exactly what its manifest (or its registry version) says it is."""


def write_bundle(target: str | Path, model_file: str | Path, parts: dict[str, Any]) -> str:
    """Write the bundle atomically; returns the manifest's sha256 (the bundle's identity)."""
    with atomic_dir(target) as tmp:
        shutil.copyfile(model_file, tmp / MODEL_FILE)
        for name in JSON_PARTS:
            write_json(tmp / f"{name}.json", parts.get(name, {}))
        files = sorted(p.name for p in tmp.iterdir())
        write_json(
            tmp / MANIFEST, {"version": 1, "files": {f: sha256_file(tmp / f) for f in files}}
        )
    return sha256_file(Path(target) / MANIFEST)


def _manifest(directory: Path) -> tuple[str, dict[str, str]]:
    """The manifest's sha256 and its entries, read once (the digest is of the bytes parsed)."""
    path = directory / MANIFEST
    if path.is_symlink() or not path.is_file():
        raise BundleError(
            f"'{directory}' is not a bundle: {MANIFEST} is missing or not a regular file",
            file=str(directory),
        )
    raw = path.read_bytes()
    try:
        files = json.loads(raw)["files"]
    except (ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"{MANIFEST} is not a bundle manifest: {exc}", file=str(path)) from exc
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise BundleError(f"{MANIFEST} 'files' is not a name -> sha256 mapping", file=str(path))
    for name in files:
        _check_entry(name, path)
    return hashlib.sha256(raw).hexdigest(), files


def _check_entry(name: str, manifest: Path) -> None:
    """A listed name is a plain relative path inside the bundle: no '..', '.', empty or
    absolute part, no backslash (a name must mean the same file on every system)."""
    parts = name.split("/")
    if "\\" in name or any(p in ("", ".", "..") for p in parts) or name == MANIFEST:
        raise BundleError(
            f"{MANIFEST} lists '{name}', which is not a plain relative file inside the bundle",
            file=str(manifest),
        )


def _present(directory: Path) -> set[str]:
    """Every regular file under `directory`, relative with '/'. Anything else but a directory
    is refused, symbolic links above all: a bundle must never reach outside itself."""
    found = set()
    for root, dirs, files in os.walk(directory):  # does not follow links: they show up here
        for name in (*dirs, *files):
            path = Path(root, name)
            mode, rel = path.lstat().st_mode, path.relative_to(directory).as_posix()
            if stat.S_ISLNK(mode):
                raise BundleError(
                    f"bundle entry '{rel}' is a symbolic link: a bundle holds regular files only",
                    file=str(path),
                )
            if stat.S_ISREG(mode):
                found.add(rel)
            elif not stat.S_ISDIR(mode):
                raise BundleError(f"bundle entry '{rel}' is not a regular file", file=str(path))
    return found


def _checked(directory: Path) -> tuple[str, dict[str, str]]:
    digest, listed = _manifest(directory)
    present = _present(directory) - {MANIFEST}
    if unlisted := sorted(present - listed.keys()):
        raise BundleError(
            f"bundle file '{unlisted[0]}' is not listed in {MANIFEST}: a bundle holds exactly "
            "the files its manifest lists",
            file=str(directory / unlisted[0]),
        )
    for name, expected in listed.items():
        path = directory / name
        if name not in present:
            raise BundleError(f"bundle file '{name}' is missing", file=str(path))
        if sha256_file(path) != expected:
            raise BundleError(f"bundle file '{name}' does not match its sha256", file=str(path))
    return digest, listed


def verify(directory: str | Path) -> str:
    """Check the bundle is exactly its manifest; returns the manifest's sha256."""
    return _checked(Path(directory))[0]


def verify_registered(
    directory: str | Path, name: str, version: str, tags: Mapping[str, str]
) -> str:
    """`verify`, then the manifest against the sha256 pinned on the registry version (its
    `tags`): a bundle changed in the artifact store and re-hashed is refused. Every load of a
    registered bundle goes through here; returns the manifest's sha256."""
    where = f"models:/{name}/{version}"
    pinned = tags.get(MANIFEST_TAG)
    if not pinned:
        raise BundleError(
            f"{where} has no manifest digest pinned at registration (tag '{MANIFEST_TAG}'), so "
            "its bundle cannot be trusted: register it again with this mlplat"
        )
    try:
        digest = verify(directory)
    except BundleError as exc:
        raise BundleError(f"{where}: {exc}", file=exc.file) from exc
    if digest != pinned:
        raise BundleError(
            f"{where}: the bundle's {MANIFEST} (sha256 {digest[:12]}) is not the one registered "
            f"({pinned[:12]}): the bundle changed in the artifact store after registration",
            file=str(Path(directory) / MANIFEST),
        )
    return digest


def copy_bundle(directory: str | Path, dest: str | Path) -> str:
    """Copy exactly the listed files and the manifest, then check the copy; returns the
    manifest's sha256. Nothing unlisted and no link target ever leaves a bundle this way."""
    source, target = Path(directory), Path(dest)
    digest, listed = _checked(source)
    for name in (*listed, MANIFEST):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, target / name, follow_symlinks=False)
    if verify(target) != digest:
        raise BundleError("the bundle changed while it was copied", file=str(source))
    return digest


@dataclass(frozen=True)
class Bundle:
    path: Path
    sha256: str
    booster: lightgbm.Booster
    feature_spec: dict[str, Any]
    schema: dict[str, Any]
    profile: dict[str, Any]
    metadata: dict[str, Any]
    sample: dict[str, Any]

    @property
    def task(self) -> str:
        return str(self.metadata.get("task", "binary"))

    def features(self, frame: pd.DataFrame) -> np.ndarray:
        return feature_code.transform(self.feature_spec, frame)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Raw input rows -> predictions (probability of the positive class for binary)."""
        import numpy as np

        return np.asarray(self.booster.predict(self.features(frame)))

    def sample_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.sample["data"], columns=self.sample["columns"])


def load_bundle(directory: str | Path) -> Bundle:
    """Verify checksums, then load the text model: no pickle anywhere."""
    import lightgbm

    directory = Path(directory)
    digest = verify(directory)
    parts = {name: read_json(directory / f"{name}.json") for name in JSON_PARTS}
    booster = lightgbm.Booster(model_file=str(directory / MODEL_FILE))
    return Bundle(path=directory, sha256=digest, booster=booster, **parts)
