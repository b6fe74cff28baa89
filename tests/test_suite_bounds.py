"""The suite passes on a loaded machine: every property test is bounded by its inputs.

A hypothesis deadline, its "too slow" health check or a pytest-timeout cut-off on a test doing a
fixed amount of work fails when the machine is busy, not when the code is wrong. Speed is
measured in bench/, never here.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest
from hypothesis import HealthCheck

TESTS = Path(__file__).parent
# The most examples a property test may run: each is a real config through the real commands,
# so the count bounds the work (the fuzz test runs two commands per example).
MOST_EXAMPLES = 300


def property_tests() -> list[tuple[str, object]]:
    found = []
    for path in sorted(TESTS.glob("test_*.py")):
        if path.stem == "test_browser":
            continue  # imports selenium lazily; holds no property test
        module = importlib.import_module(path.stem)
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if getattr(fn, "is_hypothesis_test", False):
                found.append((f"{path.stem}::{name}", fn))
    return found


PROPERTY_TESTS = property_tests()


def test_the_suite_has_property_tests():
    assert len(PROPERTY_TESTS) >= 10


@pytest.mark.parametrize(("name", "fn"), PROPERTY_TESTS, ids=[n for n, _ in PROPERTY_TESTS])
def test_property_tests_have_no_deadline_and_a_bounded_count(name, fn):
    chosen = fn._hypothesis_internal_use_settings  # type: ignore[attr-defined]
    assert chosen.deadline is None, f"{name}: a deadline fails on a busy machine"
    assert HealthCheck.too_slow in chosen.suppress_health_check, f"{name}: too_slow health check"
    assert chosen.max_examples <= MOST_EXAMPLES, f"{name}: {chosen.max_examples} examples"
