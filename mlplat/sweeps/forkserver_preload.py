"""Preloaded by multiprocessing's fork server in parallel sweeps (see `sweep.prewarm`).

A fork server only imports the modules it is given. Importing this one imports what a trial
needs and then freezes the heap, so every worker forked from the server starts warm, and exits
without a full collection over those modules (~1 s each here). Not niced: the workers forked
from here would inherit it.
"""

import gc

from mlplat.sweeps.sweep import import_trial_modules

import_trial_modules()
gc.freeze()
