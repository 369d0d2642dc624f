
from proctor_web.blueprints.auth import password_views, views  # noqa: F401  (routes register on import)
from proctor_web.blueprints.auth.blueprint import bp  # noqa: F401  (registered by create_app)
