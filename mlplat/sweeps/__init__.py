"""Hydra multirun sweeps: the parent run, trials, ranking, warm workers, the Hydra callback."""
