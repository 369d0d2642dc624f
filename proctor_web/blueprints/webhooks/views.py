"""Provider callback routes (issue 4)."""

from proctor_web.blueprints.webhooks import bp  # noqa: F401
