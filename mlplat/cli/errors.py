"""Any exception -> (exit code, one line). Tracebacks only with --debug or HYDRA_FULL_ERROR=1."""

from __future__ import annotations

import dataclasses
import re
import signal

from mlplat.core.errors import MlplatError, Stopped
from mlplat.core.tracking_store import scrub

USAGE = 2


def _suggestion(exc: BaseException, full_key: str) -> str:
    """For a key the schema does not have: the closest one it does (or how to add a map entry)."""
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError

    from mlplat.core.config import keys

    if not isinstance(exc, ConfigKeyError | ConfigAttributeError):
        return ""
    kind, parent = getattr(exc, "object_type", None), getattr(exc, "parent_node", None)
    if dataclasses.is_dataclass(kind):
        return f"; {keys.hint(full_key, [f.name for f in dataclasses.fields(kind)])}"
    if parent is None or not hasattr(parent, "keys"):
        return ""
    prefix = full_key.rpartition(".")[0]
    close = keys.did_you_mean(full_key.rpartition(".")[2], [str(k) for k in parent], f"{prefix}.")
    return f"; {close or 'a new entry of a map is added with a leading +'}"


def _omegaconf_line(exc: BaseException) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    key = getattr(exc, "full_key", None)
    if not key:
        found = re.search(r"full_key: (\S+)", text)
        key = found.group(1) if found else None
    return f"[key '{key}'] {first}{_suggestion(exc, key)}" if key else first


def _hydra_line(exc: Exception) -> str:
    """Hydra wraps the OmegaConf error that names the key; report both the file and the key."""
    message = " ".join(str(exc).split()).split(" Config search path:")[0]
    override = getattr(exc, "override", None)
    if override is not None:
        return f"[override '{override}'] {message}"
    cause = exc.__cause__ or exc.__context__
    found = re.match(r"In '([\w/.-]+)'", message)
    if cause is not None and type(cause).__module__.startswith("omegaconf"):
        line = _omegaconf_line(cause)
        return f"{line} (in conf/{found.group(1)}.yaml)" if found else line
    return message


def _yaml_line(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"{mark.name}:{mark.line + 1}:{mark.column + 1}: " if mark else ""
    return f"{where}invalid YAML: {getattr(exc, 'problem', None) or exc}"


def describe(exc: BaseException) -> tuple[int, str]:
    """The exit code and the line to print, with any remembered credentials masked."""
    code, line = _describe(exc)
    return code, scrub(line)


def _describe(exc: BaseException) -> tuple[int, str]:
    if isinstance(exc, (MlplatError, Stopped)):
        return exc.exit_code, exc.one_line()
    if isinstance(exc, KeyboardInterrupt):
        return 128 + signal.SIGINT, "stopped by SIGINT"
    module = type(exc).__module__
    if module.startswith("omegaconf"):
        return USAGE, _omegaconf_line(exc)
    if module.startswith("yaml"):
        return USAGE, _yaml_line(exc)  # type: ignore[arg-type]
    if module.startswith("hydra"):
        if isinstance(exc.__cause__, MlplatError):  # raised in a class Hydra instantiated
            return _describe(exc.__cause__)
        return USAGE, _hydra_line(exc)  # type: ignore[arg-type]
    return 1, f"{type(exc).__name__}: {exc}"
