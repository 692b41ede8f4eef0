"""Online experiments: the sequential test between two arms on live traffic."""
