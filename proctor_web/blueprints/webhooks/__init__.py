"""Provider-facing endpoints: OAuth2 token, ready/reviewed callbacks, RPNow callbacks.

Every route here authenticates the provider before it parses anything, and is exempt from
CSRF because no browser session is involved.
"""

from flask import Blueprint

bp = Blueprint("webhooks", __name__)

from proctor_web.blueprints.webhooks import views  # noqa: E402,F401  (routes register on import)
