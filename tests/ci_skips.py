"""Under CI=true a skipped test is a failure: CI installs everything the tests need
(.ci/run: curl, jq, ssh, PostgreSQL, and scripts/ci-deps-*.sh: Chromium and Playwright,
libvirt, QEMU, qemu-img, genisoimage, the tiny image; the seed walkthrough lies in the
shared/ beside the clone), so a test that skips there hides a broken install or a test
that no longer runs. Loaded by tests/conftest.py.

A skip CI may take names what CI does not install, in CI_MAY_SKIP, with the reason."""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest

# A substring of the skip's reason -> why CI does not have what it needs. Every optional
# part the tests use is installed by .ci/run; what lies outside the repository may not be
# beside a clone.
CI_MAY_SKIP: dict[str, str] = {
    "the seed walkthrough is not at": (
        "the user's own walkthrough lies outside the repository (shared/ beside the clone);"
        " a clone elsewhere has none. The repository's walkthrough (scripts/walkthrough.sh,"
        " tests/acceptance/test_walkthrough.py) runs in every case"
    ),
}


def _in_ci() -> bool:
    return os.environ.get("CI") == "true"


def _reason(report: pytest.CollectReport | pytest.TestReport) -> str:
    longrepr = report.longrepr
    text = str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return text.removeprefix("Skipped: ")


def _fail_if_skipped_in_ci(report: pytest.CollectReport | pytest.TestReport) -> None:
    if not report.skipped or not _in_ci() or hasattr(report, "wasxfail"):
        return
    reason = _reason(report)
    if any(allowed in reason for allowed in CI_MAY_SKIP):
        return
    report.outcome = "failed"
    report.longrepr = (
        f"skipped under CI=true, where what it needs is installed: {reason} "
        "(tests/ci_skips.py: install it in .ci/run, or add it to CI_MAY_SKIP with why)"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Generator[None, Any, None]:
    outcome = yield
    _fail_if_skipped_in_ci(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, None]:
    outcome = yield
    _fail_if_skipped_in_ci(outcome.get_result())
