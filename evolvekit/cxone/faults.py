"""The simulator's fault SPEC (DESIGN.md, "CXone"): parsed into one item per request."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from evolvekit.errors import ConfigError

FAULT_SPEC_HELP = """\
SPEC is a comma-separated list applied to successive event requests (POST/GET on the
events path), one item per request:
  CODE or CODExN   answer with that HTTP status (N times): 429x3, 503, 500x2, 502, 504
  drop-before      close the connection without storing or answering
  drop-after       store the event, then close the connection without answering
  expire-token     revoke the caller's token and answer 401
  lose             answer as if stored, store nothing (a lost write: what verify finds)
  latency=MS       wait MS milliseconds, then handle the request normally
Example: 429x3,503x2,drop-after,expire-token,latency=200"""

_ITEM = re.compile(
    r"^(?:(?P<code>[1-5]\d\d)(?:x(?P<times>\d+))?|(?P<word>drop-before|drop-after"
    r"|expire-token|lose)(?:x(?P<wtimes>\d+))?|latency=(?P<ms>\d+(?:\.\d+)?))$"
)


@dataclass(frozen=True)
class Fault:
    kind: Literal["status", "drop-before", "drop-after", "expire-token", "lose", "latency"]
    status: int = 0
    latency_ms: float = 0.0


def parse_fault_spec(spec: str) -> list[Fault]:
    """The fault items of ``spec``, expanded (``503x2`` gives two); ConfigError if malformed."""
    faults: list[Fault] = []
    for raw in spec.split(","):
        item = raw.strip().lower()
        if not item:
            continue
        match = _ITEM.match(item)
        if match is None:
            raise ConfigError(
                f"fault spec item {raw.strip()!r} is not understood\n" + FAULT_SPEC_HELP
            )
        if match["code"]:
            times = int(match["times"] or 1)
            faults.extend([Fault("status", status=int(match["code"]))] * times)
        elif match["word"]:
            times = int(match["wtimes"] or 1)
            kind: Any = match["word"]
            faults.extend([Fault(kind)] * times)
        else:
            faults.append(Fault("latency", latency_ms=float(match["ms"])))
    return faults
