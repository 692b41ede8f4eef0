"""mlplat: declare data, schema, features, model, segments, gates and budgets once; get tracked,
validated, registered and served models."""

__version__ = "0.1.0"
