"""Instructor routes (issue 5)."""

from proctor_web.blueprints.instructor import bp  # noqa: F401
