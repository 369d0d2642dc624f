"""Learner pages: one interstitial per exam type and attempt situation."""

from proctor_web.blueprints.learner import views  # noqa: F401  (routes register on import)
from proctor_web.blueprints.learner.blueprint import bp  # noqa: F401  (registered by create_app)
