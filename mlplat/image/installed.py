"""The running mlplat as a wheel, assembled from its installed files.

A `pip install mlplat` (not editable) leaves no source tree to build a wheel from, but the
installation's RECORD lists every file it installed with its sha256: those files, checked
against it, are the wheel's contents again, and the image installs exactly the mlplat that
built it. Left out: what the installer makes itself (bytecode, console scripts, which it
writes from entry_points.txt, and INSTALLER/REQUESTED/direct_url.json); RECORD is rewritten.
"""

from __future__ import annotations

import zipfile
from importlib import metadata
from pathlib import Path

from mlplat.image.errors import ImageError
from mlplat.image.strip import record_bytes, wheel_digest

INSTALLER_FILES = ("INSTALLER", "REQUESTED", "direct_url.json", "RECORD")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the same files make the same bytes


def running_distribution() -> metadata.Distribution | None:
    """mlplat's installed distribution if it is the code running now (None for an editable
    install, whose RECORD lists a path hook, or for a bare source tree)."""
    import mlplat

    try:
        dist = metadata.distribution("mlplat")
    except metadata.PackageNotFoundError:
        return None
    installed = Path(str(dist.locate_file("mlplat/__init__.py"))).resolve()
    listed = any(f.as_posix() == "mlplat/__init__.py" for f in dist.files or ())
    return dist if listed and installed == Path(mlplat.__file__).resolve() else None


def _kept(name: str) -> bool:
    parts = name.split("/")
    if name.startswith("../") or "__pycache__" in parts or name.endswith(".pyc"):
        return False
    return not (parts[0].endswith(".dist-info") and parts[-1] in INSTALLER_FILES)


def _contents(dist: metadata.Distribution) -> dict[str, bytes]:
    """Every kept file, as installed, refused if it no longer matches its RECORD hash."""
    out = {}
    for entry in dist.files or ():
        name = entry.as_posix()
        if not _kept(name):
            continue
        data = Path(str(dist.locate_file(entry))).read_bytes()
        if entry.hash and wheel_digest(data) != f"{entry.hash.mode}={entry.hash.value}":
            raise ImageError(
                f"the installed mlplat file '{name}' differs from its RECORD: reinstall mlplat "
                "(`pip install --force-reinstall mlplat`) so the image gets what was released",
                file=str(dist.locate_file(entry)),
            )
        out[name] = data
    return out


def wheel_tag(wheel_file: str) -> str:
    """The compressed tag set (PEP 425) of a WHEEL file's `Tag:` lines, e.g. py3-none-any."""
    tags = [line.split(":", 1)[1].strip() for line in wheel_file.splitlines() if line[:4] == "Tag:"]
    parts = [sorted({tag.split("-")[i] for tag in tags}) for i in range(3)]
    return "-".join(".".join(values) for values in parts)


def assemble_wheel(dist: metadata.Distribution, dest: Path) -> Path:
    """Write `dist` as a wheel into `dest`; returns its path."""
    files = _contents(dist)
    info = next(n.split("/", 1)[0] for n in files if n.split("/", 1)[0].endswith(".dist-info"))
    record = f"{info}/RECORD"
    files[record] = record_bytes(files, record)
    tag = wheel_tag(files[f"{info}/WHEEL"].decode())
    wheel = dest / f"{info.removesuffix('.dist-info')}-{tag}.whl"
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        # the .dist-info last, RECORD at its end, as wheel builders write it
        for name in sorted(files, key=lambda n: (n.startswith(info), n == record, n)):
            entry = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, files[name], zipfile.ZIP_DEFLATED)
    return wheel
