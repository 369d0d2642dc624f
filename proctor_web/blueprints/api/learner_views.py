"""Learner JSON endpoints (issue 3)."""

from proctor_web.blueprints.api import bp  # noqa: F401
