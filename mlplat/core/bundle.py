"""The pickle-free serving bundle: LightGBM text model + JSON spec, schema, profile and metadata.

Serving, images and monitoring depend only on this module (and `features`), never on training
code. Every file is listed with its sha256 in MANIFEST.json and checked before the model loads.
"""

from __future__ import annotations

import shutil
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


class BundleError(MlplatError):
    """A bundle is missing a file or a file does not match its checksum."""


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


def verify(directory: str | Path) -> str:
    """Check every file against the manifest; returns the manifest's sha256."""
    directory = Path(directory)
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise BundleError(
            f"'{directory}' is not a bundle: {MANIFEST} is missing", file=str(directory)
        )
    for name, expected in read_json(manifest_path)["files"].items():
        path = directory / name
        if not path.is_file():
            raise BundleError(f"bundle file '{name}' is missing", file=str(path))
        if sha256_file(path) != expected:
            raise BundleError(f"bundle file '{name}' does not match its sha256", file=str(path))
    return sha256_file(manifest_path)


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
