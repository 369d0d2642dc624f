"""Fixtures for the LTI tests: the independent platform (see platform_fixtures.py)."""

from tests.lti.platform_fixtures import lms, lms_platform  # noqa: F401
