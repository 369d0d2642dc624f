"""Course-staff JSON endpoints (issue 5)."""

from proctor_web.blueprints.api import bp  # noqa: F401
