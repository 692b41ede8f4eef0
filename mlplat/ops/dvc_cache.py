"""The DVC cache under the retention policy: which objects the kept revisions use, their sizes,
and DVC's own garbage collection of the rest.

The scope is explicit, as `dvc gc` demands: the workspace (the current dvc.lock's outputs), the
git commits of the runs the policy keeps, and DVC experiments when the policy keeps them. Planning
and collecting compute the used objects the same way (DVC's `used_objs`, as `dvc gc` does) and
collect through the function `dvc gc` itself calls, so what `--apply` frees is what the plan said.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from mlplat.ops.retention import CacheFact


def is_dvc_project(project: Path) -> bool:
    return (project / ".dvc").is_dir()


@contextlib.contextmanager
def _repo(project: Path) -> Iterator[Any]:
    from dvc.repo import Repo

    # DVC's lines ("Removed 3 objects", "output ... is missing version info" for a pipeline
    # not reproduced yet: nothing of it is cached to keep) are not mlplat's output
    logging.getLogger("dvc").setLevel(logging.ERROR)
    with Repo(str(project)) as repo:
        yield repo


def _odbs(repo: Any) -> list[Any]:
    """The cache's object databases, each once (md5 and its legacy twin may be one)."""
    found: list[Any] = []
    for _, odb in repo.cache.by_scheme():
        if odb is not None and odb not in found:
            found.append(odb)
    return found


def _used(repo: Any, revs: Iterable[str], experiments: bool) -> set[tuple[str, str]]:
    """(hash name, value) of every object the workspace and `revs` use, trees expanded."""
    used = repo.used_objs(
        revs=sorted(set(revs)) or None, all_experiments=experiments, force=True, skip_failed=True
    )
    return {(h.name, h.value) for objs in used.values() for h in objs if h.value}


def cache_facts(project: Path, revs: Iterable[str], experiments: bool) -> list[CacheFact]:
    with _repo(project) as repo:
        used = _used(repo, revs, experiments)
        facts = []
        for odb in _odbs(repo):
            for oid in sorted(odb.all()):
                try:
                    size = os.path.getsize(odb.oid_to_path(oid))
                except OSError:  # removed meanwhile
                    continue
                facts.append(CacheFact(oid, size, (odb.hash_name, oid) in used))
        return facts


def collect(project: Path, revs: Iterable[str], experiments: bool) -> int:
    """Remove every cache object the kept revisions do not use (DVC's own gc); how many."""
    from dvc_data.hashfile.gc import gc
    from dvc_data.hashfile.hash_info import HashInfo

    with _repo(project) as repo, repo.lock:
        used = [HashInfo(name, value) for name, value in _used(repo, revs, experiments)]
        return sum(int(gc(odb, used) or 0) for odb in _odbs(repo))
