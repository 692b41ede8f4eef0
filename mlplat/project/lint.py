"""`mlplat lint`: the naming and reference conventions a project's declarations promise.

Pure checks that return findings; the CLI prints them ruff-style (`file:line: CODE message`).
Codes: N = naming, R = a reference to something undeclared, C = the config does not compose,
W = a warning (does not fail the lint).

- N001 config key, N002 feature name, N003 segment name, N004 experiment file name: snake_case
- N005 an experiment's `experiment_name` differs from its file name
- N006 the registered-model name breaks the declared `registry.name_pattern`
- R001 a feature, segment or data key names a column the schema does not declare
- R002 a gate names a metric the task does not produce, or an unknown baseline
- C001 an experiment does not compose
- W001 a schema column that no feature, segment or data key uses
- W002 the model card's declared text (`card`) is still `mlplat init`'s draft
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlplat.core.config import PlatformConfig

SNAKE = re.compile(r"[a-z][a-z0-9_]*")
GLOBAL = "# @package _global_"
SKIP_TOP = ("defaults", "hydra")  # Hydra's own keys, not the project's declarations
Path_ = tuple[str, ...]


@dataclass(frozen=True, order=True)
class Finding:
    file: str
    line: int
    code: str
    message: str

    @property
    def error(self) -> bool:
        return not self.code.startswith("W")

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.code} {self.message}"


def key_lines(text: str) -> dict[Path_, int]:
    """Every mapping key in a YAML document -> its 1-based line, by key path."""
    import yaml

    root = yaml.compose(text)
    found: dict[Path_, int] = {}

    def walk(node: Any, prefix: Path_) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                path = (*prefix, str(key.value))
                found[path] = key.start_mark.line + 1
                walk(value, path)

    walk(root, ())
    return found


def global_prefix(rel: Path, text: str) -> Path_:
    """Where a file's keys land in the composed config: its group, or the root for _global_."""
    if GLOBAL in text or len(rel.parts) < 2:
        return ()
    return tuple(rel.parts[:-1])


def name_kind(path: Path_) -> str | None:
    """What a key at this composed path names; None for column names (the data's, not ours)."""
    if len(path) == 3 and path[:2] == ("features", "definitions"):
        return "N002 feature name"
    if len(path) == 3 and path[:2] == ("segments", "slices"):
        return "N003 segment name"
    if len(path) == 3 and path[:2] == ("schema", "columns"):
        return None
    return "N001 config key"


def check_keys(rel: str, text: str, prefix: Path_) -> list[Finding]:
    out = []
    for path, line in key_lines(text).items():
        if (*prefix, *path)[0] in SKIP_TOP:  # also conf/hydra/**: lands under Hydra's own key
            continue
        kind = name_kind((*prefix, *path))
        if kind and not SNAKE.fullmatch(path[-1]):
            code, what = kind.split(" ", 1)
            out.append(Finding(rel, line, code, f"{what} '{path[-1]}' is not snake_case"))
    return out


def check_files(conf: Path, project: Path) -> list[Finding]:
    out = []
    for path in sorted(conf.rglob("*.yaml")):
        rel = path.relative_to(conf)
        text = path.read_text(encoding="utf-8")
        shown = path.relative_to(project).as_posix()
        out.extend(check_keys(shown, text, global_prefix(rel, text)))
        if rel.parts[0] == "experiment" and not SNAKE.fullmatch(path.stem):
            out.append(
                Finding(shown, 1, "N004", f"experiment file name '{path.name}' is not snake_case")
            )
    return out


@dataclass(frozen=True)
class Composition:
    experiment: str | None
    cfg: PlatformConfig
    choices: dict[str, str]  # group -> option, as Hydra chose them


class Locator:
    """The file and line of a composed key: the group file Hydra chose, else the experiment."""

    def __init__(self, project: Path, comp: Composition) -> None:
        self.project, self.comp = project, comp

    def _candidates(self, path: Path_) -> list[tuple[Path, Path_]]:
        conf = self.project / "conf"
        found = []
        if path[0] in self.comp.choices:
            found.append((conf / path[0] / f"{self.comp.choices[path[0]]}.yaml", path[1:]))
        if self.comp.experiment:
            found.append((conf / "experiment" / f"{self.comp.experiment}.yaml", path))
        found.append((conf / "config.yaml", path))
        return found

    def __call__(self, *path: str) -> tuple[str, int]:
        for file, inner in self._candidates(path):
            if file.is_file():
                for depth in range(len(inner), 0, -1):
                    line = key_lines(file.read_text(encoding="utf-8")).get(inner[:depth])
                    if line:
                        return file.relative_to(self.project).as_posix(), line
        first = self._candidates(path)[0][0]
        return first.relative_to(self.project).as_posix(), 1


def declared(cfg: PlatformConfig, column: str) -> bool:
    columns = cfg.schema.columns
    return column in columns or any(
        spec.regex and re.fullmatch(name, column) for name, spec in columns.items()
    )


def references(cfg: PlatformConfig) -> list[tuple[Path_, str, str]]:
    """(key path, column, who) for every column a declaration names."""
    refs: list[tuple[Path_, str, str]] = []
    data = cfg.data
    for key in ("target", "id_column", "timestamp_column"):
        if value := getattr(data, key):
            refs.append((("data", key), value, f"data.{key}"))
    if data.split.group_column:
        refs.append((("data", "split", "group_column"), data.split.group_column, "data.split"))
    for name, feature in cfg.features.definitions.items():
        for key in ("column", "numerator", "denominator"):
            if value := getattr(feature, key):
                refs.append((("features", "definitions", name, key), value, f"feature '{name}'"))
    for name, seg in cfg.segments.slices.items():
        for value in [seg.column, *(seg.cross or [])]:
            if value:
                refs.append((("segments", "slices", name, "column"), value, f"segment '{name}'"))
    return refs


def gate_references(cfg: PlatformConfig) -> list[tuple[Path_, str]]:
    """Gates name metrics and baselines; each must be one the evaluate stage produces."""
    from mlplat.core.metric_names import NAMES
    from mlplat.stages.evaluate.baselines import BASELINES

    gates, task = cfg.gates, cfg.model.task
    known = NAMES.get(task, ())
    named: list[tuple[Path_, str]] = [(("gates", "floors", m), m) for m in gates.floors]
    named += [(("gates", "segment_floors", m), m) for m in gates.segment_floors]
    named += [
        (("gates", key), value)
        for key in ("champion_metric", "lift_metric")
        if (value := getattr(gates, key))
    ]
    out = [
        (
            path,
            f"gate '{path[1]}' names metric '{metric}' that a {task} model does not have "
            f"({', '.join(known)})",
        )
        for path, metric in named
        if metric not in known
    ]
    out += [
        (
            ("gates", "min_lift", b),
            f"gate 'min_lift' names baseline '{b}'; baselines: {', '.join(BASELINES)}",
        )
        for b in gates.min_lift
        if b not in BASELINES
    ]
    return out


def check_composition(project: Path, comp: Composition) -> list[Finding]:
    from mlplat.core import names, provenance

    cfg, where, out = comp.cfg, Locator(project, comp), []
    schema = cfg.schema.name
    used: set[str] = set()
    for path, column, who in references(cfg):
        used.add(column)
        if not declared(cfg, column):
            out.append(
                Finding(
                    *where(*path),
                    "R001",
                    f"{who} refers to column '{column}' that schema '{schema}' does not declare",
                )
            )
    out.extend(Finding(*where(*path), "R002", message) for path, message in gate_references(cfg))
    for column, spec in cfg.schema.columns.items():
        if not spec.regex and column not in used:
            out.append(
                Finding(
                    *where("schema", "columns", column),
                    "W001",
                    f"schema column '{column}' is used by no feature, segment or data key",
                )
            )
    if cfg.card.draft:
        out.append(
            Finding(
                *where("card", "draft"),
                "W002",
                "the model card's intended use, owners and limitations are still a draft: "
                "review conf/card/, then set card.draft=false",
            )
        )
    name = provenance.model_name(cfg)
    if not names.fits_pattern(name, cfg.registry.name_pattern):
        out.append(
            Finding(
                *where("registry", "name_pattern"),
                "N006",
                f"registered model name '{name}' does not match '{cfg.registry.name_pattern}'",
            )
        )
    if comp.experiment and cfg.experiment_name != comp.experiment:
        out.append(
            Finding(
                *where("experiment_name"),
                "N005",
                f"experiment_name '{cfg.experiment_name}' differs from its file name "
                f"'{comp.experiment}'",
            )
        )
    return out


def compose_all(project: Path) -> tuple[list[Composition], list[Finding]]:
    """The default composition and every experiment, typed but not checked (lint reports)."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf, open_dict

    from mlplat.core.config import PlatformConfig, register_schemas
    from mlplat.pipeline.compose import _raising_hydra, conf_dir

    register_schemas()
    conf = conf_dir(project)
    experiments = sorted(p.stem for p in (conf / "experiment").glob("*.yaml"))
    comps, failures = [], []
    with _raising_hydra(), initialize_config_dir(str(conf.resolve()), version_base="1.3"):
        for exp in [None, *experiments]:
            try:
                raw = compose(
                    "config", [f"+experiment={exp}"] if exp else [], return_hydra_config=True
                )
                choices = {k: str(v) for k, v in raw.hydra.runtime.choices.items() if v is not None}
                with open_dict(raw):
                    del raw["hydra"]  # a masked copy would lose the structured type
                typed = OmegaConf.to_object(raw)
            except Exception as exc:  # any composition error is a finding, not a crash
                file = f"conf/experiment/{exp}.yaml" if exp else "conf/config.yaml"
                failures.append(Finding(file, 1, "C001", " ".join(str(exc).split())[:300]))
                continue
            if isinstance(typed, PlatformConfig):
                comps.append(Composition(exp, typed, choices))
    return comps, failures


def lint(project: Path) -> list[Finding]:
    """Every finding once, sorted by file and line."""
    from mlplat.pipeline.compose import conf_dir

    found = set(check_files(conf_dir(project), project))
    comps, failures = compose_all(project)
    found.update(failures)
    for comp in comps:
        found.update(check_composition(project, comp))
    return sorted(found)
