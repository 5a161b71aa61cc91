"""The processor's lag histogram observed a set at a time (telemetry/processing.observe_all)
leaves the samples one observation per message leaves: the same buckets, and the same sum to
the last bit (each value added in turn)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram

from syncline.services.telemetry.metrics import LATENCY_BUCKETS
from syncline.services.telemetry.processing import observe_all

_lags = st.lists(st.one_of(
    st.sampled_from([0.0, *LATENCY_BUCKETS[:-1]]),  # on a bucket's bound
    st.floats(min_value=0.0, max_value=10_000.0, allow_nan=False)), max_size=60)


def _samples(registry: CollectorRegistry) -> list[tuple[str, dict[str, str], float]]:
    return [(s.name, s.labels, s.value) for family in registry.collect()
            for s in family.samples if not s.name.endswith("_created")]


@settings(max_examples=200, deadline=None)
@given(start=_lags, values=_lags)
def test_a_set_observed_at_once_equals_one_observation_per_message(
        start: list[float], values: list[float]) -> None:
    one_by_one, at_once = CollectorRegistry(), CollectorRegistry()
    histograms = [Histogram("lag", "lag", ["type"], buckets=LATENCY_BUCKETS, registry=r)
                  .labels("time.approved") for r in (one_by_one, at_once)]
    for h in histograms:  # what earlier sets left
        for v in start:
            h.observe(v)
    for v in values:
        histograms[0].observe(v)
    observe_all(histograms[1], values)
    assert _samples(one_by_one) == _samples(at_once)


def test_a_histogram_without_the_internals_is_observed_value_by_value() -> None:
    seen: list[float] = []

    class Plain:
        def observe(self, value: float) -> None:
            seen.append(value)

    observe_all(Plain(), [0.5, 0.5, 2.0])
    assert seen == [0.5, 0.5, 2.0]
