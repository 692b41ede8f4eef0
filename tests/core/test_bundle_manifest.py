"""The bundle manifest as a trust anchor (issue 20 item 4): a bundle is exactly the files its
manifest lists, and a registered bundle is exactly the one registered, wherever it is loaded."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlplat.core.bundle import (
    MANIFEST,
    MANIFEST_TAG,
    BundleError,
    copy_bundle,
    verify,
    write_bundle,
)
from mlplat.core.errors import MlplatError
from mlplat.core.io import sha256_file
from tests.conftest import mlplat, tracking_uri
from tests.image_support import MODEL_NAME, Trained, train

Tamper = Callable[[Path, Path], None]  # (bundle dir, a directory outside it) -> None


def make_bundle(root: Path) -> Path:
    model = root / "model-src.txt"
    model.write_text("tree\n", encoding="utf-8")
    write_bundle(root / "bundle", model, {"metadata": {"model_name": "m"}})
    return root / "bundle"


def relist(bundle: Path, change: Callable[[dict[str, str]], None]) -> None:
    """Rewrite the manifest (the re-hash an attacker with write access would do)."""
    manifest = json.loads((bundle / MANIFEST).read_text())
    change(manifest["files"])
    (bundle / MANIFEST).write_text(json.dumps(manifest))


def secret(outside: Path) -> Path:
    path = outside / "shadow"
    path.write_text("root:secret\n", encoding="utf-8")
    return path


def leave_out_model(bundle: Path, outside: Path) -> None:
    relist(bundle, lambda files: files.pop("model.txt"))


def dotdot_entry(bundle: Path, outside: Path) -> None:
    target = secret(bundle.parent)
    relist(bundle, lambda files: files.update({"../shadow": sha256_file(target)}))


def absolute_entry(bundle: Path, outside: Path) -> None:
    target = secret(outside)
    relist(bundle, lambda files: files.update({str(target): sha256_file(target)}))


def listed_symlink(bundle: Path, outside: Path) -> None:
    """schema.json replaced by a link to an identical file outside: its sha256 still matches."""
    copy = outside / "schema.json"
    shutil.copyfile(bundle / "schema.json", copy)
    (bundle / "schema.json").unlink()
    (bundle / "schema.json").symlink_to(copy)


def unlisted_symlink(bundle: Path, outside: Path) -> None:
    (bundle / "shadow").symlink_to(secret(outside))


def unlisted_dir_symlink(bundle: Path, outside: Path) -> None:
    secret(outside)
    (bundle / "etc").symlink_to(outside, target_is_directory=True)


def unlisted_file(bundle: Path, outside: Path) -> None:
    (bundle / "extra.txt").write_text("not in the manifest\n")


def fifo(bundle: Path, outside: Path) -> None:
    os.mkfifo(bundle / "pipe")


CASES = [
    pytest.param(leave_out_model, "'model.txt' is not listed", id="missing-entry"),
    pytest.param(dotdot_entry, "'../shadow', which is not a plain relative", id="dotdot"),
    pytest.param(absolute_entry, "which is not a plain relative file", id="absolute-path"),
    pytest.param(listed_symlink, "'schema.json' is a symbolic link", id="listed-symlink"),
    pytest.param(unlisted_symlink, "'shadow' is a symbolic link", id="unlisted-symlink"),
    pytest.param(unlisted_dir_symlink, "'etc' is a symbolic link", id="unlisted-dir-symlink"),
    pytest.param(unlisted_file, "'extra.txt' is not listed", id="unlisted-file"),
    pytest.param(fifo, "'pipe' is not a regular file", id="fifo"),
]


@pytest.mark.parametrize(("tamper", "message"), CASES)
def test_verify_refuses(tamper: Tamper, message: str, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    tamper(bundle, outside)
    with pytest.raises(BundleError, match=message) as refused:
        verify(bundle)
    assert refused.value.file and str(bundle) in refused.value.file


@pytest.mark.parametrize(("tamper", "message"), CASES)
def test_copy_refuses_and_copies_nothing_outside(
    tamper: Tamper, message: str, tmp_path: Path
) -> None:
    bundle = make_bundle(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    tamper(bundle, outside)
    with pytest.raises(BundleError, match=message):
        copy_bundle(bundle, tmp_path / "copy")
    copied = [p for p in (tmp_path / "copy").rglob("*")] if (tmp_path / "copy").exists() else []
    assert not any("secret" in p.read_text() for p in copied if p.is_file())


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_a_plain_bundle_with_a_listed_subdirectory_verifies(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    (bundle / "docs").mkdir()
    (bundle / "docs" / "card.md").write_text("# card\n")
    card = sha256_file(bundle / "docs" / "card.md")
    relist(bundle, lambda files: files.update({"docs/card.md": card}))
    digest = verify(bundle)
    assert digest == sha256_file(bundle / MANIFEST)
    assert copy_bundle(bundle, tmp_path / "copy") == digest
    listed = json.loads((bundle / MANIFEST).read_text())["files"]
    assert "docs/card.md" in listed
    assert files_under(tmp_path / "copy") == sorted([MANIFEST, *listed])


# --- registered bundles: the manifest digest pinned at registration, checked at every load ---


def registry(root: Path) -> Any:
    import mlflow

    mlflow.set_tracking_uri(tracking_uri(root))
    return mlflow.MlflowClient()


def register_again(trained: Trained, alias: str) -> str:
    """A new version of the trained bundle, registered the way `mlplat run` registers."""
    import mlflow

    from mlplat.tracking import runs as tracking
    from mlplat.tracking.tracker import Tracker

    registry(trained.root)
    mlflow.set_experiment("churn_baseline")
    with mlflow.start_run():
        uri = tracking.log_bundle(trained.bundle)
        return tracking.register(Tracker(tracking_uri(trained.root)), uri, MODEL_NAME, {}, alias)


def stored_bundle(trained: Trained, version: str) -> Path:
    """The version's bundle in the artifact store (a local directory in this project)."""
    from urllib.parse import urlparse

    client = registry(trained.root)
    model_id = client.get_model_version(MODEL_NAME, version).source.removeprefix("models:/")
    location = client.get_logged_model(model_id).artifact_location
    return Path(urlparse(location).path) / "artifacts" / "bundle"


def rehash_model(bundle: Path) -> None:
    """A changed model file with a manifest re-hashed to match it: `verify` alone accepts it."""
    with (bundle / "model.txt").open("a", encoding="utf-8") as handle:
        handle.write("\n")
    relist(bundle, lambda files: files.update({"model.txt": sha256_file(bundle / "model.txt")}))
    verify(bundle)


@dataclass(frozen=True)
class Registered:
    trained: Trained
    rehashed: str  # version whose stored bundle was changed and re-hashed (alias @rehashed)
    unpinned: str  # version without the pinned digest (alias @unpinned)


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Registered:
    trained = train(tmp_path_factory)
    rehashed = register_again(trained, "rehashed")
    rehash_model(stored_bundle(trained, rehashed))
    unpinned = register_again(trained, "unpinned")
    registry(trained.root).delete_model_version_tag(MODEL_NAME, unpinned, MANIFEST_TAG)
    return Registered(trained, rehashed, unpinned)


@pytest.mark.slow
def test_registration_pins_the_manifest_digest(registered: Registered) -> None:
    trained = registered.trained
    tags = registry(trained.root).get_model_version(MODEL_NAME, "1").tags
    assert tags[MANIFEST_TAG] == verify(trained.bundle) == sha256_file(trained.bundle / MANIFEST)


def serving_source(trained: Trained, alias: str, cache: Path) -> Path:
    from mlplat.serving.source import RegistrySource

    source = RegistrySource(f"models:/{MODEL_NAME}@{alias}", tracking_uri(trained.root), cache)
    return source.fetch(source.resolve())


def gates_champion(trained: Trained, alias: str, cache: Path) -> Path:
    from mlplat.core.model_ref import download  # what the gates load the champion with
    from mlplat.tracking.tracker import Tracker

    version = registry(trained.root).get_model_version_by_alias(MODEL_NAME, alias).version
    return download(Tracker(tracking_uri(trained.root)), MODEL_NAME, str(version), cache)[0]


def image_source(trained: Trained, alias: str, cache: Path) -> Path:
    from mlplat.image.source import from_registry
    from mlplat.tracking.tracker import Tracker

    uri = f"models:/{MODEL_NAME}@{alias}"
    found = from_registry(uri, Tracker(tracking_uri(trained.root)), cache)
    return found.bundle_dir


LOADERS = [
    pytest.param(serving_source, id="serving-source"),
    pytest.param(gates_champion, id="gates-champion"),
    pytest.param(image_source, id="image-source"),
]


@pytest.mark.slow
@pytest.mark.parametrize("load", LOADERS)
def test_every_registry_load_checks_the_pinned_digest(
    load: Callable[[Trained, str, Path], Path], registered: Registered, tmp_path: Path
) -> None:
    trained = registered.trained
    assert verify(load(trained, "challenger", tmp_path / "good")) == verify(trained.bundle)
    where = f"models:/{MODEL_NAME}/{registered.rehashed}"
    with pytest.raises(BundleError, match=f"{where}: .*is not the one registered"):
        load(trained, "rehashed", tmp_path / "rehashed")
    where = f"models:/{MODEL_NAME}/{registered.unpinned}"
    with pytest.raises(BundleError, match=f"{where} has no manifest digest pinned"):
        load(trained, "unpinned", tmp_path / "unpinned")


COMMANDS = [
    pytest.param(
        ("monitor", "--current", "data/churn.csv", "--output", "mon-rehashed"), id="monitor"
    ),
    pytest.param(("image", "build", "--context-only", "ctx-rehashed"), id="image-build"),
    pytest.param(("profile", "--data", "data/churn.csv", "--seconds", "0.05"), id="profile"),
]


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
def test_commands_refuse_a_rehashed_version_naming_it(
    command: tuple[str, ...], registered: Registered
) -> None:
    trained = registered.trained
    model = f"models:/{MODEL_NAME}@rehashed"
    done = mlplat(*command, "--model", model, cwd=trained.root, env=trained.env)
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"models:/{MODEL_NAME}/{registered.rehashed}" in done.stderr
    assert "not the one registered" in done.stderr and "Traceback" not in done.stderr
    assert not (trained.root / "ctx-rehashed").exists()
    assert not (trained.root / "mon-rehashed").exists()


# --- the image context: exactly the listed files ---


@pytest.mark.slow
def test_image_context_refuses_a_bundle_with_an_unlisted_symlink(
    registered: Registered, tmp_path: Path
) -> None:
    trained = registered.trained
    bundle = tmp_path / "bundle"
    shutil.copytree(trained.bundle, bundle)
    (bundle / "shadow").symlink_to(secret(tmp_path))
    done = mlplat(
        "image",
        "build",
        "--model",
        str(bundle),
        "--context-only",
        str(tmp_path / "c"),
        cwd=trained.root,
    )
    assert done.returncode == 1, done.stderr
    assert "'shadow' is a symbolic link" in done.stderr
    assert not (tmp_path / "c").exists()


def test_image_context_holds_only_what_was_verified(tmp_path: Path) -> None:
    """A file that appears after the source was checked never reaches the context."""
    from mlplat.image.context import write_context
    from mlplat.image.source import from_bundle

    bundle = make_bundle(tmp_path)
    source = from_bundle(bundle)
    (bundle / "shadow").symlink_to(secret(tmp_path))
    with pytest.raises(MlplatError, match="'shadow' is a symbolic link"):
        write_context(tmp_path / "ctx", source, "base:1")
    assert not (tmp_path / "ctx").exists()


def test_registration_logs_only_a_verified_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bundle with a link out of it is refused before anything reaches the artifact store."""
    import mlflow

    from mlplat.tracking import runs as tracking

    monkeypatch.chdir(tmp_path)
    bundle = make_bundle(tmp_path)
    (bundle / "shadow").symlink_to(secret(tmp_path))
    mlflow.set_tracking_uri(tracking_uri(tmp_path))
    mlflow.set_experiment("manifest")
    with mlflow.start_run(), pytest.raises(BundleError, match="'shadow' is a symbolic link"):
        tracking.log_bundle(bundle)
    stored = [p for p in (tmp_path / "mlruns").rglob("*") if p.is_file()]
    assert not any(b"root:secret" in p.read_bytes() for p in stored)
    assert not mlflow.search_logged_models(output_format="list")


@pytest.mark.slow
def test_registry_pin_verifies_then_pins_and_refuses_a_changed_bundle(
    registered: Registered,
) -> None:
    trained = registered.trained
    version = register_again(trained, "pinme")
    client = registry(trained.root)
    client.delete_model_version_tag(MODEL_NAME, version, MANIFEST_TAG)
    done = mlplat("registry", "pin", MODEL_NAME, version, cwd=trained.root, env=trained.env)
    assert done.returncode == 0, done.stderr
    pinned = client.get_model_version(MODEL_NAME, version).tags[MANIFEST_TAG]
    assert pinned == verify(trained.bundle) and pinned in done.stderr
    changed = mlplat(
        "registry", "pin", MODEL_NAME, registered.rehashed, cwd=trained.root, env=trained.env
    )
    assert changed.returncode == 1 and "changed in the artifact store" in changed.stderr
    assert "Traceback" not in changed.stderr
