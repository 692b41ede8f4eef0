"""The scoring service: serves a verified bundle; imports only `mlplat.core`, never MLflow."""
