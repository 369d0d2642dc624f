"""Operations endpoints: provider dashboard redirect and user retirement (issue 4)."""

from proctor_web.blueprints.api import bp  # noqa: F401
