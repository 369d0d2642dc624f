"""Learner pages: one interstitial per exam type and attempt situation."""

from flask import Blueprint

bp = Blueprint("learner", __name__)

from proctor_web.blueprints.learner import views  # noqa: E402,F401  (routes register on import)
