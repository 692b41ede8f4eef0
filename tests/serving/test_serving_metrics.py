"""The prediction histogram takes a request's values at once and agrees with prometheus-client's
own Histogram observed value by value."""

from __future__ import annotations

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, Histogram

from mlplat.serving.metrics import SCORE_BUCKETS, BatchHistogram


def samples(collector: object) -> dict[tuple[str, str | None], float]:
    found = {}
    for family in collector.collect():  # type: ignore[attr-defined]
        for s in family.samples:
            if not s.name.endswith("_created"):
                found[(s.name, s.labels.get("le"))] = s.value
    return found


@pytest.mark.parametrize(
    "sizes",
    [
        pytest.param([1] * 50, id="one-row-requests"),
        pytest.param([5000, 3, 20_000], id="large-and-small-requests"),
    ],
)
def test_batch_histogram_matches_prometheus_histogram(sizes: list[int]) -> None:
    rng = np.random.default_rng(0)
    registry = CollectorRegistry()
    reference = Histogram("p", "p", buckets=SCORE_BUCKETS, registry=registry)
    ours = BatchHistogram("p", "p", SCORE_BUCKETS)
    for size in sizes:
        values = rng.uniform(-0.2, 1.3, size)
        values[: min(3, size)] = [0.1, 1.0, np.inf][: min(3, size)]  # on the edges, past them
        ours.observe(values)
        for value in values:
            reference.observe(value)
    assert samples(ours) == pytest.approx(samples(registry))
