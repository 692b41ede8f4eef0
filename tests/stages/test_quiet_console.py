"""Library noise stays off the console (issue 19, item 10): scipy's precision warning from the
weak-slice scan, and the spurious significance that came with it."""

from __future__ import annotations

import numpy as np
import pytest

from mlplat.stages.evaluate.discovery import _test


@pytest.mark.parametrize(
    ("inside", "outside", "weak"),
    [
        pytest.param(np.full(30, 0.1), np.full(50, 0.1), False, id="all-equal"),
        pytest.param(np.full(30, 0.1) + 1e-17 * np.arange(30), np.full(50, 0.1), False, id="noise"),
        pytest.param(np.full(8, 0.9), np.linspace(0.0, 0.4, 60), True, id="one-side-constant"),
    ],
)
def test_equal_losses_neither_warn_nor_count_as_evidence(
    inside: np.ndarray, outside: np.ndarray, weak: bool
) -> None:
    """pytest turns warnings into errors here (filterwarnings = error)."""
    loss = np.concatenate([inside, outside])
    mask = np.arange(loss.size) < inside.size
    pvalue, effect = _test(loss, mask)
    assert (pvalue < 0.01 and effect > 0.5) is weak
