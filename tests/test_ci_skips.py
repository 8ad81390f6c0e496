"""tests/ci_skips.py: a skip is a failure under CI=true, and only there."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

TESTS = """
import pytest

pytest.importorskip("no_such_module_anywhere")
"""
SKIPS = """
import pytest

@pytest.mark.skipif(True, reason="the seed walkthrough is not here")
def test_marked():
    pass

def test_inside():
    pytest.skip("jq is not installed")

@pytest.fixture
def browser():
    pytest.skip("Chromium is not installed")

def test_fixture(browser):
    pass

@pytest.mark.xfail(reason="known")
def test_expected_failure():
    assert False

def test_runs():
    pass
"""


def test_skips_pass_quietly_outside_ci(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    pytester.makepyfile(test_skips=SKIPS)
    result = pytester.runpytest_inprocess("-p", "tests.ci_skips", "-p", "no:randomly")
    result.assert_outcomes(passed=1, skipped=3, xfailed=1)


def test_every_skip_fails_under_ci(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    pytester.makepyfile(test_skips=SKIPS)
    result = pytester.runpytest_inprocess("-p", "tests.ci_skips", "-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1, errors=2, xfailed=1)
    result.stdout.fnmatch_lines(["*skipped under CI=true*the seed walkthrough is not here*"])
    result.stdout.fnmatch_lines(["*skipped under CI=true*jq is not installed*"])
    result.stdout.fnmatch_lines(["*skipped under CI=true*Chromium is not installed*"])
    assert result.ret == 1


def test_a_module_skipped_whole_fails_under_ci(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    pytester.makepyfile(test_module=TESTS)
    result = pytester.runpytest_inprocess("-p", "tests.ci_skips", "-p", "no:randomly")
    result.stdout.fnmatch_lines(["*skipped under CI=true*no_such_module_anywhere*"])
    assert result.ret != 0
