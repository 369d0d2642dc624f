"""Provider-facing endpoints: OAuth2 token, ready/reviewed callbacks, RPNow callbacks.

Every route here authenticates the provider before it parses anything, and is exempt from
CSRF because no browser session is involved.
"""

from proctor_web.blueprints.webhooks import views  # noqa: F401  (routes register on import)
from proctor_web.blueprints.webhooks.blueprint import bp  # noqa: F401  (registered by create_app)
