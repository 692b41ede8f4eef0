"""Any exception -> (exit code, one line). Tracebacks only with --debug or HYDRA_FULL_ERROR=1."""

from __future__ import annotations

import re

from mlplat.core.errors import MlplatError

USAGE = 2


def _omegaconf_line(exc: Exception) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    key = getattr(exc, "full_key", None)
    if not key:
        found = re.search(r"full_key: (\S+)", text)
        key = found.group(1) if found else None
    return f"[key '{key}'] {first}" if key else first


def _hydra_line(exc: Exception) -> str:
    """Hydra wraps the OmegaConf error that names the key; report both the file and the key."""
    message = " ".join(str(exc).split())
    cause = exc.__cause__ or exc.__context__
    found = re.search(r"'([\w/.-]+\.yaml)'|([\w/-]+\.yaml)", message)
    if cause is not None and type(cause).__module__.startswith("omegaconf"):
        line = _omegaconf_line(cause)
        return f"{line} (in {found.group(0)})" if found and found.group(0) not in line else line
    return message


def describe(exc: BaseException) -> tuple[int, str]:
    if isinstance(exc, MlplatError):
        return exc.exit_code, exc.one_line()
    module = type(exc).__module__
    if module.startswith("omegaconf"):
        return USAGE, _omegaconf_line(exc)  # type: ignore[arg-type]
    if module.startswith("hydra"):
        return USAGE, _hydra_line(exc)  # type: ignore[arg-type]
    return 1, f"{type(exc).__name__}: {exc}"
