"""Conformance of evolvekit's schema diff against Confluent, Apicurio and jsoncompat.

Run: ``python benchmarks/conformance.py [ORACLES_DIR]`` (default ``tests/schema/oracles``).
Prints, per suite, verdicts agreed / total (and for Confluent, identical change lists),
then every disagreement with a one-line reason. Exits 1 when a floor is missed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from evolvekit.schema.conformance import (
    check_jsoncompat_examples,
    default_oracles_dir,
    run_all,
)

FLOORS = {"confluent": 0.97, "apicurio": 0.95, "jsoncompat": 0.85}
CONFLUENT_EXACT_FLOOR = 0.90


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else default_oracles_dir()
    if not root.is_dir():
        print(f"no oracles at {root}")
        return 2
    started = time.perf_counter()
    suites = run_all(root)
    checked, failures = check_jsoncompat_examples(root)
    elapsed = time.perf_counter() - started
    ok = True
    print(f"{'suite':<12} {'agreed':>8} {'total':>6} {'ratio':>7}  floor")
    for suite in suites:
        floor = FLOORS[suite.name]
        ok &= suite.ratio >= floor
        print(f"{suite.name:<12} {suite.agreed:>8} {suite.total:>6} {suite.ratio:>7.1%}  "
              f">= {floor:.0%}")
        if suite.name == "confluent":
            ok &= suite.exact_ratio >= CONFLUENT_EXACT_FLOOR
            print(f"{'  exact':<12} {suite.exact:>8} {suite.total:>6} {suite.exact_ratio:>7.1%}  "
                  f">= {CONFLUENT_EXACT_FLOOR:.0%}  (identical change lists)")
        for note in suite.notes:
            print(f"  note: {note}")
    print(f"jsoncompat examples: {checked - len(failures)}/{checked} validate as stated")
    ok &= not failures
    for suite in suites:
        shown = [c for c in suite.cases if not c.agreed or c.exact is False]
        if shown:
            print(f"\n--- {suite.name}: {len(shown)} case(s) with a disagreement")
        for case in shown:
            tag = "VERDICT" if not case.agreed else "changes"
            print(f"[{tag}] {case.case}: {case.reason}")
    for failure in failures:
        print(f"[example] {failure}")
    print(f"\nran in {elapsed:.2f} s; {'all floors hold' if ok else 'A FLOOR IS MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except BrokenPipeError:  # piped into `head`: the reader has what it wanted
        sys.stderr.close()
        raise SystemExit(0) from None
