"""`model.params` checked against the installed LightGBM's own parameter names, aliases and types.

Names and aliases come from `LGBM_DumpParamAliases`, LightGBM's C API. Types are LightGBM's too:
a model whose parameters section sets every name to 0.5 is loaded
(`LGBM_BoosterLoadModelFromString`) and read back (`LGBM_BoosterGetLoadedParam`, what the Python
package's `Booster(model_str=...).params` calls), and LightGBM converts each value by the
parameter's declared type: an int reads back 0, a double 0.5, a bool false, a string "0.5", a
vector a list.

The library is loaded with ctypes rather than through `import lightgbm`: that import pulls in
scikit-learn and costs about a second in the process that composes every run, the table costs
milliseconds (docs/benchmarks.md). It is read once per process.
"""

from __future__ import annotations

import ctypes
import functools
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from mlplat.core.config.keys import did_you_mean
from mlplat.core.errors import ConfigError
from mlplat.core.labels import OBJECTIVES

DOCS = "https://lightgbm.readthedocs.io/en/stable/Parameters.html"
PROBE = 0.5  # converted by type: int 0, double 0.5, bool false, string "0.5", vector [..]
_MODEL = """tree
version=v4
num_class=1
num_tree_per_iteration=1
label_index=0
max_feature_idx=0
objective=regression
feature_names=x
feature_infos=none

Tree=0
num_leaves=1
num_cat=0
leaf_value=0
shrinkage=1

end of trees

parameters:
{parameters}
end of parameters
"""
# The objectives (LightGBM's names and aliases) whose output mlplat evaluates as each task: a
# probability of the positive class, one probability per class, or a number. Ranking and custom
# objectives have no mlplat task.


class ParamType(Enum):
    INT = "an int"
    FLOAT = "a number"
    BOOL = "true or false"
    STRING = "a string"
    LIST = "a value or a list of values"


@dataclass(frozen=True)
class ParamTable:
    canonical: dict[str, str]  # every name and alias -> LightGBM's name
    types: dict[str, ParamType]  # LightGBM's name -> its type (absent: not typed in a model)


def _type_of(value: Any) -> ParamType:
    if isinstance(value, bool):
        return ParamType.BOOL
    if isinstance(value, int):
        return ParamType.INT
    if isinstance(value, float):
        return ParamType.FLOAT
    return ParamType.LIST if isinstance(value, list) else ParamType.STRING


def _library() -> ctypes.CDLL:
    """lib_lightgbm of the installed lightgbm distribution, found through its file list."""
    from importlib import metadata

    found = [f for f in metadata.files("lightgbm") or [] if f.name.startswith("lib_lightgbm.")]
    if not found:
        raise ConfigError("the installed lightgbm has no lib_lightgbm library", key="model.params")
    lib = ctypes.CDLL(str(found[0].locate()))
    lib.LGBM_GetLastError.restype = ctypes.c_char_p
    return lib


def _text(lib: ctypes.CDLL, call: Callable[..., int], *args: Any) -> str:
    """A string out of a C API call that fills a caller's buffer (and says how much it needed)."""
    size, needed = 1 << 16, ctypes.c_int64(0)
    while True:
        buffer = ctypes.create_string_buffer(size)
        if call(*args, ctypes.c_int64(size), ctypes.byref(needed), buffer) != 0:
            raise ConfigError(f"LightGBM: {lib.LGBM_GetLastError().decode()}", key="model.params")
        if needed.value <= size:
            return buffer.value.decode()
        size = needed.value


def _typed(lib: ctypes.CDLL, names: list[str]) -> dict[str, Any]:
    """Every name set to PROBE in a model's parameters, as LightGBM reads them back."""
    lines = "\n".join(f"[{name}: {PROBE}]" for name in names)
    model, handle = _MODEL.format(parameters=lines).encode(), ctypes.c_void_p()
    if lib.LGBM_BoosterLoadModelFromString(
        model, ctypes.byref(ctypes.c_int()), ctypes.byref(handle)
    ):
        raise ConfigError(f"LightGBM: {lib.LGBM_GetLastError().decode()}", key="model.params")
    try:
        loaded: dict[str, Any] = json.loads(_text(lib, lib.LGBM_BoosterGetLoadedParam, handle))
        return loaded
    finally:
        lib.LGBM_BoosterFree(handle)


def _read(lib: ctypes.CDLL) -> ParamTable:
    aliases: dict[str, list[str]] = json.loads(_text(lib, lib.LGBM_DumpParamAliases))
    canonical = {name: name for name in aliases}
    canonical.update({alias: name for name, more in aliases.items() for alias in more})
    typed = _typed(lib, sorted(aliases))
    return ParamTable(canonical, {name: _type_of(value) for name, value in typed.items()})


@functools.cache
def table() -> ParamTable:
    """Read on a thread of its own: LightGBM's log callback is per thread, so the warning the
    probe draws (a name such as `task` that a model does not keep) is dropped there, and the
    process's own LightGBM logging is left as it was."""
    result: list[ParamTable | BaseException] = []
    quiet = ctypes.CFUNCTYPE(None, ctypes.c_char_p)(lambda _message: None)

    def read() -> None:
        try:
            lib = _library()
            lib.LGBM_RegisterLogCallback(quiet)
            result.append(_read(lib))
        except BaseException as exc:  # re-raised on the caller's thread
            result.append(exc)

    worker = threading.Thread(target=read, name="mlplat-lightgbm-params")
    worker.start()
    worker.join()
    if isinstance(result[0], BaseException):
        raise result[0]
    return result[0]


def _fits(kind: ParamType | None, value: Any) -> bool:
    if value is None:
        return True  # not passed to LightGBM
    scalar = isinstance(value, str | int | float)
    if kind is None:
        return scalar or isinstance(value, list)
    checks = {
        ParamType.INT: isinstance(value, int) and not isinstance(value, bool),
        ParamType.FLOAT: isinstance(value, int | float) and not isinstance(value, bool),
        ParamType.BOOL: isinstance(value, bool),
        ParamType.STRING: scalar,
        ParamType.LIST: scalar
        or (isinstance(value, list) and all(isinstance(v, str | int | float) for v in value)),
    }
    return checks[kind]


def _check_one(key: str, value: Any, known: ParamTable) -> str:
    """LightGBM's name for `key`, after checking the name and the value's type."""
    full = f"model.params.{key}"
    name = known.canonical.get(key)
    if name is None:
        hint = did_you_mean(key, known.canonical, "model.params.") or f"see {DOCS}"
        raise ConfigError(f"LightGBM has no parameter '{key}'; {hint}", key=full)
    kind = known.types.get(name)
    if not _fits(kind, value):
        called = name if name == key else f"{key} (LightGBM's {name})"
        wants = kind.value if kind else "a value"
        raise ConfigError(f"{called} takes {wants}, not {value!r}", key=full)
    return name


def _check_objective(key: str, value: Any, task: str) -> None:
    allowed = next((names for t, names in OBJECTIVES.items() if t == task), frozenset())
    if str(value) in allowed:
        return
    other = next((t for t, names in OBJECTIVES.items() if str(value) in names), None)
    what = f"a {other} objective" if other else "not an objective mlplat can evaluate"
    raise ConfigError(
        f"objective '{value}' is {what}, but model.task is '{task}': set model.task or an "
        f"objective for {task} ({', '.join(sorted(allowed))})",
        key=f"model.params.{key}",
    )


def check(params: Mapping[str, Any], task: str) -> None:
    """Refuse an unknown name, a value of the wrong type, one parameter set under two names, and
    an objective of another task, each naming its key."""
    if not params:
        return
    known, seen = table(), dict[str, str]()
    for key, value in params.items():
        name = _check_one(str(key), value, known)
        if value is None:
            continue  # unset: LightGBM never sees it
        if name in seen:
            raise ConfigError(
                f"model.params.{seen[name]} and model.params.{key} both set LightGBM's {name} "
                "(LightGBM would silently keep one): keep one",
                key=f"model.params.{key}",
            )
        seen[name] = str(key)
        if name == "objective":
            _check_objective(str(key), value, task)
