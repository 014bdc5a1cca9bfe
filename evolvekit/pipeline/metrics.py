"""The service's metrics, rendered in the Prometheus text exposition format by hand.

Counters (``evolvekit_<name>_total``): accepted, duplicates, rejected (bad requests),
processed, published, broadcast, dead_lettered (by stage), plus per-subject/version counts
of processed events (source and target version). Gauges: outbox size, in-flight events.
One histogram: seconds from accept to the end of processing. Updates take a lock, so the
ingest handler, the workers and the outbox retrier may all count from any thread.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

PREFIX = "evolvekit"
LATENCY_BUCKETS: tuple[float, ...] = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip

COUNTERS: dict[str, str] = {
    "accepted": "Events durably accepted at ingest.",
    "duplicates": "Ingested events recognised as duplicates (answered with the original id).",
    "rejected": "Ingest requests refused as bad input (4xx).",
    "processed": "Events that passed detect, migrate and validate and were handed to the sinks.",
    "published": "Events confirmed by CXone (directly or from the outbox).",
    "broadcast": "Events handed to the WebSocket broadcaster.",
    "written": "Events written to the JSON-lines sink.",
    "outboxed": "Events parked in the outbox after their publish retries ran out.",
}


@dataclass
class Histogram:
    buckets: tuple[float, ...] = LATENCY_BUCKETS
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.buckets)

    def observe(self, value: float) -> None:
        index = bisect.bisect_left(self.buckets, value)
        if index < len(self.counts):
            self.counts[index] += 1
        self.total += value
        self.count += 1

    def quantile(self, q: float) -> float | None:
        """An upper bound of the ``q`` quantile from the buckets (None when empty)."""
        if not self.count:
            return None
        wanted = q * self.count
        seen = 0
        for bound, n in zip(self.buckets, self.counts, strict=True):
            seen += n
            if seen >= wanted:
                return bound
        return float("inf")


class Metrics:
    """Thread-safe counters, labelled counters, gauges and the latency histogram."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counters: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self.dead_lettered: dict[str, int] = {}
        self.by_version: dict[tuple[str, str, str], int] = {}  # (subject, source, target)
        self.latency = Histogram()
        self._gauges: dict[str, tuple[str, Callable[[], float]]] = {}

    def inc(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self.counters[name] += amount

    def dead_letter(self, stage: str) -> None:
        with self._lock:
            self.dead_lettered[stage] = self.dead_lettered.get(stage, 0) + 1

    def processed(self, subject: str, source: str, target: str, seconds: float | None) -> None:
        with self._lock:
            self.counters["processed"] += 1
            key = (subject, source, target)
            self.by_version[key] = self.by_version.get(key, 0) + 1
            if seconds is not None:
                self.latency.observe(max(0.0, seconds))

    def gauge(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        """Register a gauge read at render time (e.g. the outbox size from the store)."""
        self._gauges[name] = (help_text, read)

    def snapshot(self) -> dict[str, object]:
        """Plain numbers, for the demo's summary and tests."""
        with self._lock:
            result: dict[str, object] = dict(self.counters)
            result["dead_lettered"] = sum(self.dead_lettered.values())
            result["dead_lettered_by_stage"] = dict(self.dead_lettered)
            result["by_version"] = {f"{s} {a}->{b}": n for (s, a, b), n in self.by_version.items()}
        return result

    def render(self) -> str:
        """The Prometheus text format (version 0.0.4)."""
        lines: list[str] = []
        with self._lock:
            for name, help_text in COUNTERS.items():
                _family(lines, f"{name}_total", "counter", help_text, [("", self.counters[name])])
            _family(
                lines,
                "dead_lettered_total",
                "counter",
                "Events sent to the dead-letter store, by the stage that failed.",
                [(_labels(stage=s), n) for s, n in sorted(self.dead_lettered.items())],
            )
            _family(
                lines,
                "events_by_version_total",
                "counter",
                "Processed events by subject, source version and target version.",
                [
                    (_labels(subject=s, source_version=a, target_version=b), n)
                    for (s, a, b), n in sorted(self.by_version.items())
                ],
            )
            histogram = self.latency
            name = f"{PREFIX}_processing_seconds"
            lines.append(f"# HELP {name} Seconds from accept to the end of processing.")
            lines.append(f"# TYPE {name} histogram")
            cumulative = 0
            for bound, n in zip(histogram.buckets, histogram.counts, strict=True):
                cumulative += n
                lines.append(f'{name}_bucket{{le="{_number(bound)}"}} {cumulative}')
            lines.append(f'{name}_bucket{{le="+Inf"}} {histogram.count}')
            lines.append(f"{name}_sum {_number(histogram.total)}")
            lines.append(f"{name}_count {histogram.count}")
        for gauge_name, (help_text, read) in sorted(self._gauges.items()):
            try:
                value: float = read()
            except Exception:  # a closed store must not break /metrics
                continue
            _family(lines, gauge_name, "gauge", help_text, [("", value)])
        return "\n".join(lines) + "\n"


def _family(
    lines: list[str], name: str, kind: str, help_text: str, samples: Iterable[tuple[str, float]]
) -> None:
    full = f"{PREFIX}_{name}"
    lines.append(f"# HELP {full} {help_text}")
    lines.append(f"# TYPE {full} {kind}")
    for labels, value in samples:
        lines.append(f"{full}{labels} {_number(value)}")


def _labels(**labels: str) -> str:
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))
