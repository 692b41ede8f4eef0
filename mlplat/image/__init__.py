"""Container images of a bundle: render a build context, build it through the Docker Engine API,
and smoke-test the result in a real engine.

Depends only on `mlplat.core` (the bundle); the registry half talks to MLflow directly, lazily.
"""
