"""The bundle stage: the self-contained, pickle-free serving bundle."""
