"""The bottom layer: typed config, errors, the serving bundle and IO helpers. Imports nothing above."""
