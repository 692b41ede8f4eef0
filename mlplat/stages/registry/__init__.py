"""The bundle stage and the MLflow registry: versions, aliases, promotion and rollback."""
