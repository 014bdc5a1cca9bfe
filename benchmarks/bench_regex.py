"""Rule patterns: evolvekit's RE2 engine (evolvekit/safe_regex.py) against Python's ``re``.

1. Benign patterns of the kind rule files use, on short CXone-like values: searches per
   second with each engine and the ratio (what the linear-time guarantee costs).
2. A catastrophic-backtracking pattern, ``^([a-z]+)+[0-9]$`` on ``"a" * n + "!"``: seconds
   per search as n grows. ``re`` doubles with each extra character (it is stopped at
   ``--max-re-n``); RE2 stays flat.

    python benchmarks/bench_regex.py [--seconds 1.0] [--max-re-n 24]
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable

from evolvekit.safe_regex import compile_pattern

BENIGN = [
    (r"\d+", "CUST-99281"),
    (r"@(.+)$", "agent.smith@company.com"),
    (r"^(?P<prefix>[A-Z]+)-(?P<n>\d+)$", "INT-4421"),
    (r"(?i)^(true|false)$", "False"),
]
HOSTILE = r"^([a-z]+)+[0-9]$"


def rate(search: Callable[[str], object], text: str, seconds: float) -> float:
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(1000):
            search(text)
        done += 1000
    return done / (time.perf_counter() - start)


def once(search: Callable[[str], object], text: str) -> float:
    start = time.perf_counter()
    search(text)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="time per engine and pattern")
    parser.add_argument("--max-re-n", type=int, default=24, help="largest n tried with re")
    args = parser.parse_args()
    print(f"{'pattern':<36} {'re /s':>12} {'RE2 /s':>12} {'RE2/re':>7}")
    for pattern, text in BENIGN:
        python, safe = re.compile(pattern), compile_pattern(pattern)
        assert bool(python.search(text)) == bool(safe.search(text))
        slow, fast = rate(python.search, text, args.seconds), rate(safe.search, text, args.seconds)
        print(f"{pattern:<36} {slow:>12,.0f} {fast:>12,.0f} {fast / slow:>6.2f}x")
    print(f"\n{HOSTILE} on 'a' * n + '!': seconds per search")
    print(f"{'n':>6} {'re':>12} {'RE2':>12}")
    python, safe = re.compile(HOSTILE), compile_pattern(HOSTILE)
    for n in (16, 20, args.max_re_n, 1_000, 100_000):
        text = "a" * n + "!"
        slow = f"{once(python.search, text):.6f}" if n <= args.max_re_n else "(not run)"
        print(f"{n:>6} {slow:>12} {once(safe.search, text):>12.6f}")


if __name__ == "__main__":
    main()
