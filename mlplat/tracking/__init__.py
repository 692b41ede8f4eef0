"""The tracking store: MLflow runs, registration, gates bookkeeping, registry aliases and
their history."""
