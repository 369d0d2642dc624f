
from proctor_web.blueprints.lti_platform import views  # noqa: F401  (routes register on import)
from proctor_web.blueprints.lti_platform.blueprint import bp  # noqa: F401  (registered by create_app)
