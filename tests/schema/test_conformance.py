"""The conformance floors against the public suites vendored in tests/schema/oracles."""

from __future__ import annotations

from evolvekit.schema.conformance import (
    check_jsoncompat_examples,
    default_oracles_dir,
    run_apicurio,
    run_confluent,
    run_jsoncompat,
)

ORACLES = default_oracles_dir()


def _failures(suite: object) -> str:
    cases = getattr(suite, "cases", [])
    return "\n".join(f"{c.case}: {c.reason}" for c in cases if not c.agreed)


def test_confluent_verdicts_and_change_lists() -> None:
    suite = run_confluent(ORACLES)
    assert suite.total == 263
    assert suite.ratio >= 0.97, _failures(suite)
    assert suite.exact_ratio >= 0.90


def test_apicurio_verdicts_both_directions() -> None:
    suite = run_apicurio(ORACLES)
    assert suite.total == 145
    assert suite.ratio >= 0.95, _failures(suite)


def test_jsoncompat_verdicts_both_directions() -> None:
    suite = run_jsoncompat(ORACLES)
    assert suite.total == 63
    assert suite.ratio >= 0.85, _failures(suite)


def test_jsoncompat_examples_validate_as_stated() -> None:
    checked, failures = check_jsoncompat_examples(ORACLES)
    assert checked > 100
    assert failures == []
