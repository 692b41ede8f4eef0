"""The train stage: LightGBM on the declared features."""
