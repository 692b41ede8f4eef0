"""A user's project: the init scaffold and what it infers, lint, the feature catalog."""
