"""Hydra configs mlplat ships to every project (`pkg://mlplat.hydra_presets` on Hydra's search
path, after the project's own `conf/`, so a project file of the same name wins): the
`hydra/launcher=parallel` preset."""
