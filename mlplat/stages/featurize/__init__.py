"""The featurize stage: split the rows, fit the declared features on the training side."""
