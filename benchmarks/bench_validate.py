"""Validations per second: jsonschema-rs (evolvekit's hot path) vs jsonschema (the baseline).

Runs on the shipped interaction.completed schemas with their example events (all valid,
plus one invalid variant of each, so both the accept and the reject path are timed).
Both engines resolve the same cross-file $refs offline; ``format`` is an annotation in both.

    python benchmarks/bench_validate.py [--seconds 1.0]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from evolvekit.schema.registry import SchemaRegistry

ROOT = Path(__file__).resolve().parents[1] / "schemas"
SUBJECT = "interaction.completed"


def events_for(version: str) -> list[Any]:
    path = ROOT / SUBJECT / "examples" / f"{version}.jsonl"
    valid = [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    invalid = [{**event, "customerId": 12345} for event in valid]
    return valid + invalid


def rate(check: Callable[[Any], bool], events: list[Any], seconds: float) -> float:
    """Validations per second of ``check`` over ``events``, timed for about ``seconds``."""
    done = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for event in events:
            check(event)
        done += len(events)
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="time per engine and schema")
    args = parser.parse_args()
    registry = SchemaRegistry(ROOT)
    print(f"{'schema':<28} {'jsonschema-rs /s':>17} {'jsonschema /s':>15} {'ratio':>7}")
    ratios = []
    for version in registry.versions(SUBJECT):
        validator = registry.validator(SUBJECT, version)
        baseline = validator.reference_validator()  # jsonschema, validator_for(schema)
        events = events_for(version)
        # Both must agree before their speed means anything.
        assert [validator.is_valid(e) for e in events] == [baseline.is_valid(e) for e in events]
        fast = rate(validator.is_valid, events, args.seconds)
        slow = rate(baseline.is_valid, events, args.seconds)
        ratios.append(fast / slow)
        print(f"{SUBJECT}@{version:<7} {fast:>17,.0f} {slow:>15,.0f} {fast / slow:>6.1f}x")
    print(f"geometric-mean speed-up: {_geomean(ratios):.1f}x")


def _geomean(values: list[float]) -> float:
    product = 1.0
    for value in values:
        product *= value
    return product ** (1 / len(values))


if __name__ == "__main__":
    main()
