"""Image errors; each says what to do next."""

from __future__ import annotations

from mlplat.core.errors import MlplatError


class ImageError(MlplatError):
    """An image could not be rendered, built or did not pass its smoke test."""


class EngineUnavailableError(ImageError):
    """No Docker engine answers at DOCKER_HOST (or the default socket). Exit 3: an environment
    problem, not a bad model or declaration."""

    exit_code = 3
