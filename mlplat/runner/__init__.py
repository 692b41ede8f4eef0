"""Compatibility: the import paths configs written before the split of `runner/` name.

A project's `conf/config.yaml` (and every `mlplat init` template before the split) names the
sweep callback as `mlplat.runner.sweep_callback.SweepCallback`; that path keeps working. New code
lives in `mlplat.pipeline`, `mlplat.tracking`, `mlplat.sweeps`, `mlplat.project` and `mlplat.ops`.
"""
