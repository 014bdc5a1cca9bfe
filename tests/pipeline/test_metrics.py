"""The Prometheus text rendering of the service's metrics."""

from __future__ import annotations

import re

from evolvekit.pipeline.metrics import Histogram, Metrics


def test_render_is_prometheus_text() -> None:
    metrics = Metrics()
    metrics.inc("accepted", 3)
    metrics.inc("duplicates")
    metrics.processed("interaction.completed", "1.0.0", "3.0.0", 0.004)
    metrics.processed("interaction.completed", "1.0.0", "3.0.0", 0.2)
    metrics.dead_letter("validate")
    metrics.gauge("outbox_size", "Events waiting in the outbox.", lambda: 7)
    text = metrics.render()
    assert text.endswith("\n")
    assert "# TYPE evolvekit_accepted_total counter\nevolvekit_accepted_total 3\n" in text
    assert "evolvekit_duplicates_total 1\n" in text
    assert "evolvekit_processed_total 2\n" in text
    assert 'evolvekit_dead_lettered_total{stage="validate"} 1\n' in text
    assert (
        'evolvekit_events_by_version_total{subject="interaction.completed",'
        'source_version="1.0.0",target_version="3.0.0"} 2\n'
    ) in text
    assert "# TYPE evolvekit_outbox_size gauge\nevolvekit_outbox_size 7\n" in text
    assert 'evolvekit_processing_seconds_bucket{le="0.005"} 1\n' in text
    assert 'evolvekit_processing_seconds_bucket{le="0.25"} 2\n' in text
    assert 'evolvekit_processing_seconds_bucket{le="+Inf"} 2\n' in text
    assert "evolvekit_processing_seconds_count 2\n" in text
    # Every sample line is "name{labels} value".
    for line in text.splitlines():
        if not line.startswith("#"):
            assert re.fullmatch(r"[a-z_]+(\{[^}]*\})? [0-9.e+-]+", line), line


def test_label_values_are_escaped() -> None:
    metrics = Metrics()
    metrics.processed('we"ird\\subject', "1", "2", None)
    assert 'subject="we\\"ird\\\\subject"' in metrics.render()


def test_a_failing_gauge_is_left_out() -> None:
    metrics = Metrics()

    def broken() -> float:
        raise RuntimeError("store closed")

    metrics.gauge("outbox_size", "x", broken)
    assert "outbox_size" not in metrics.render()


def test_histogram_quantiles() -> None:
    histogram = Histogram()
    assert histogram.quantile(0.5) is None
    for value in (0.001, 0.002, 0.003, 0.9):
        histogram.observe(value)
    assert histogram.quantile(0.5) == 0.0025
    assert histogram.quantile(0.99) == 1.0
    histogram.observe(1000)
    assert histogram.quantile(1.0) == float("inf")
