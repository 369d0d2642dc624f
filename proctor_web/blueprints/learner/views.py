"""Learner routes (issue 3)."""

from proctor_web.blueprints.learner import bp  # noqa: F401
