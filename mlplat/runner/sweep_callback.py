"""Compatibility: `mlplat.runner.sweep_callback.SweepCallback` is `mlplat.sweeps.callback`'s."""

from mlplat.sweeps.callback import SweepCallback

__all__ = ["SweepCallback"]
