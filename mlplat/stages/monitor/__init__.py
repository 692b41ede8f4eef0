"""Monitoring: compare what a model sees now with the reference profile in its bundle.

Pure functions over a bundle's parts and a frame of current rows; the runner adds MLflow
(the model, the bench figures) and writes the reports.
"""
