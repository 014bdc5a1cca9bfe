"""Suite-wide policy: under ``CI=true`` a skipped test fails the run unless it is allowed here.

A skip that hides a missing input (a browser, a server, a data file) would make a green run
that tested nothing. Outside CI a skip is reported with its reason (``-rs`` in the addopts);
in CI it becomes a failure, except for the reasons in ``ALLOWED_SKIPS``, each with why.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

# reason substring -> why it is acceptable for that test not to run in CI
ALLOWED_SKIPS: dict[str, str] = {}


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _allowed(reason: str) -> bool:
    return any(key in reason for key in ALLOWED_SKIPS)


def _fail_disallowed_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    if not (report.skipped and _in_ci()) or hasattr(report, "wasxfail"):
        return
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    if _allowed(reason):
        return
    report.outcome = "failed"
    report.longrepr = (
        f"skipped under CI=true: {reason}\n"
        "Install what the test needs in .ci/run, or allow the skip with a reason in "
        "tests/conftest.py ALLOWED_SKIPS."
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    _fail_disallowed_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, None]:
    outcome = yield
    _fail_disallowed_skip(outcome.get_result())
