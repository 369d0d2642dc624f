"""Fixtures of the hostile-input tests (see tests/hostile.py)."""

from tests.hostile import rpnow_backend, world  # noqa: F401  (fixtures)
