"""The mlplat source files a module runs: its import closure, read from the project's sources.

A stage's DVC code dependencies are the files it really imports (its gates, its metric names),
not its package: a change to the gates reruns `register`, a change to `mlplat lint` reruns
nothing. Read statically (every `import` in a file, function-level ones too), so compiling never
imports a stage, and from the project's own files, so an installed mlplat adds nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT_PACKAGE = "mlplat"


def module_file(project: Path, module: str) -> Path | None:
    """The project's source file of `module` (a module or a package's __init__), if it has one."""
    base = project.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported(source: Path, module: str) -> set[str]:
    """The mlplat modules one file names in its imports (a `from a import b` names a.b too:
    b may be a module; a name that is not one is dropped by the caller)."""
    package = module if source.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"), str(source))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, `level - 1` steps up
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in found if m == ROOT_PACKAGE or m.startswith(f"{ROOT_PACKAGE}.")}


def _with_parents(module: str) -> list[str]:
    """Importing a.b.c runs a/__init__ and a/b/__init__ first."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def closure(project: Path, module: str) -> set[Path]:
    """Every project source file importing `module` runs, `module`'s own included; none when
    the project does not hold `module` (it runs an installed mlplat)."""
    if module_file(project, module) is None:
        return set()
    seen: set[str] = set()
    files: set[Path] = set()
    todo = _with_parents(module)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        source = module_file(project, name)
        if source is None:
            continue  # an attribute, not a module, or not in this project
        files.add(source)
        todo.extend(m for found in _imported(source, name) for m in _with_parents(found))
    return files


def _package_files(folder: Path, recursive: bool) -> set[Path]:
    """A package's files, templates included (a report's .j2 is code too); no bytecode, and
    not the py.typed marker (it changes no behaviour)."""
    found = folder.rglob("*") if recursive else folder.iterdir()
    return {
        f for f in found if f.is_file() and "__pycache__" not in f.parts and f.name != "py.typed"
    }


def collapse(files: set[Path], project: Path) -> list[str]:
    """Project-relative paths of `files` and the templates beside them: a package directory
    whose every file is among them is listed once, as the directory; the others file by file."""
    files = files | {t for f in files for t in _package_files(f.parent, False) if t.suffix != ".py"}
    whole: set[Path] = set()
    for init in sorted((f for f in files if f.name == "__init__.py"), key=lambda f: len(f.parts)):
        folder = init.parent
        if any(folder.is_relative_to(w) for w in whole):
            continue
        if _package_files(folder, True) <= files:
            whole.add(folder)
    listed = {*whole, *(f for f in files if not any(f.is_relative_to(w) for w in whole))}
    return sorted(p.relative_to(project).as_posix() for p in listed)
