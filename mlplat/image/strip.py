"""Strip debug symbols from the shared libraries of binary wheels (about half their size).

Many manylinux wheels ship unstripped `.so` files (uvloop's is 13 MB, 2 MB stripped). The
image's base has no binutils, so this happens on the host, to copies in the wheelhouse, and
RECORD is rewritten so each wheel stays valid. Skipped when the host has no `strip`.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path


def wheel_digest(data: bytes) -> str:
    """A RECORD hash: sha256, urlsafe base64 without padding, as the wheel format has it."""
    raw = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def record_bytes(files: dict[str, bytes], record_name: str) -> bytes:
    """A wheel's RECORD for `files` (name -> bytes), RECORD itself listed without a hash."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for name, data in files.items():
        writer.writerow([name, wheel_digest(data), len(data)])
    writer.writerow([record_name, "", ""])
    return out.getvalue().encode()


def _is_shared_library(name: str) -> bool:
    return name.endswith(".so") or ".so." in name.rsplit("/", 1)[-1]


def _strippable(name: str, data: bytes) -> bool:
    """Not what auditwheel patched: stripping a patchelf-edited library breaks its loading
    ("ELF load command address/offset not page-aligned"), so vendored `*.libs/` libraries and
    extensions with an `$ORIGIN` rpath into them are left as they are."""
    top = name.split("/", 1)[0]
    return _is_shared_library(name) and not top.endswith(".libs") and b"$ORIGIN" not in data


def strip_wheel(wheel: Path, strip: str) -> bool:
    """Rewrite `wheel` in place with stripped libraries; False when it has none."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        if not any(_is_shared_library(n) for n in names):
            return False
        files = {n: archive.read(n) for n in names if not n.endswith("/")}
    chosen = [n for n, data in files.items() if _strippable(n, data)]
    if not chosen:
        return False
    with tempfile.TemporaryDirectory(prefix="mlplat-strip-") as tmp:
        for name in chosen:
            path = Path(tmp) / name.replace("/", "__")
            path.write_bytes(files[name])
            subprocess.run([strip, "--strip-unneeded", str(path)], check=True, capture_output=True)
            files[name] = path.read_bytes()
    record = next(n for n in files if n.endswith(".dist-info/RECORD"))
    files[record] = record_bytes({n: d for n, d in files.items() if n != record}, record)
    with zipfile.ZipFile(wheel.with_suffix(".tmp"), "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in files.items():
            out.writestr(name, data)
    wheel.with_suffix(".tmp").replace(wheel)
    return True


def strip_wheels(directory: Path) -> list[str]:
    """Strip every binary wheel in `directory`; returns the names changed."""
    strip = shutil.which("strip")
    if strip is None:
        return []
    return [w.name for w in sorted(directory.glob("*.whl")) if strip_wheel(w, strip)]
