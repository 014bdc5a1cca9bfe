from __future__ import annotations

import pytest

from evolvekit.cxone.faults import Fault, parse_fault_spec
from evolvekit.errors import ConfigError


def test_fault_spec_grammar() -> None:
    assert parse_fault_spec("429x3, 503,drop-after,expire-token,latency=20") == [
        Fault("status", 429),
        Fault("status", 429),
        Fault("status", 429),
        Fault("status", 503),
        Fault("drop-after"),
        Fault("expire-token"),
        Fault("latency", latency_ms=20.0),
    ]
    assert parse_fault_spec("") == []
    for bad in ("42", "boom", "latency=", "429x", "drop-sideways"):
        with pytest.raises(ConfigError, match="not understood"):
            parse_fault_spec(bad)
