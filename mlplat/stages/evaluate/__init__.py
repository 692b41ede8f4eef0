"""The evaluate stage: holdout metrics, overall and per segment."""
