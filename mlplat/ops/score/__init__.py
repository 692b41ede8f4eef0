"""`mlplat score`: the ML Test Score (Breck et al., IEEE Big Data 2017) from evidence.

It reads across stages (registry, MLflow runs, project files), so it lives above them.
"""
