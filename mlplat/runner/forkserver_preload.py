"""Preloaded by multiprocessing's fork server in parallel sweeps (see `sweep.prewarm`).

A fork server only imports the modules it is given. Importing this one imports what a trial
needs and then freezes the heap, so every worker forked from the server starts warm, and exits
without a full collection over those modules (~1 s each here).
"""

import contextlib
import gc
import importlib

from mlplat.runner.sweep import TRIAL_MODULES

for _name in TRIAL_MODULES:
    with contextlib.suppress(Exception):  # a failing import must not kill the server: the trial
        importlib.import_module(_name)  # imports it again and reports the error itself
gc.freeze()
