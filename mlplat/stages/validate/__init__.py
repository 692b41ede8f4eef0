"""The data contract: schemas compiled to pandera, validation reports, splits."""
