"""The bottom layer: typed config, errors, the bundle and IO helpers; imports nothing above."""
