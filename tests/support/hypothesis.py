"""Hypothesis profiles for the fuzz tests, chosen by the HYPOTHESIS_PROFILE environment variable.

- ``ci`` (the default): a fast run, 100 examples per test (a few tests scale that), for CI.
- ``nightly``: 5,000 examples per test (same scaling), a run of several minutes::

      HYPOTHESIS_PROFILE=nightly python -m pytest tests/test_fuzz.py

Nothing here changes Hypothesis' global settings: the fuzz tests decorate themselves with
``fuzz_settings()``, so other tests keep Hypothesis' own defaults. Failing examples are kept in
``test-artifacts/hypothesis`` (ignored by git) and replayed first on the next run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

PROFILE_ENV: Final = "HYPOTHESIS_PROFILE"
DATABASE: Final = Path(__file__).resolve().parent.parent / "test-artifacts" / "hypothesis"

_COMMON = dict(
    deadline=None,  # real sockets and a real SQLite file: one slow example is not a failure
    database=DirectoryBasedExampleDatabase(DATABASE),
    suppress_health_check=[
        # The server fixture is meant to live for the whole test, across its examples.
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
    print_blob=True,
)

settings.register_profile("ci", max_examples=100, **_COMMON)  # type: ignore[arg-type]
settings.register_profile("nightly", max_examples=5_000, **_COMMON)  # type: ignore[arg-type]

PROFILE_NAME: Final = os.environ.get(PROFILE_ENV, "ci")
PROFILE: Final = settings.get_profile(PROFILE_NAME)


def fuzz_settings(scale: float = 1.0) -> settings:
    """The chosen profile, with `scale` times its examples (for the costlier tests)."""
    return settings(PROFILE, max_examples=max(10, int(PROFILE.max_examples * scale)))
