"""Background work: outbox delivery and the periodic sweep, off the request path.

``jobs`` holds the task bodies (the same functions run in every mode), ``dispatch`` hands
committed outbox rows to the configured mode (an in-process thread, or Celery when
``PROCTOR_CELERY_BROKER_URL`` is set), ``celery_app`` builds the Celery app bound to a
Flask app (``celery -A proctor_web.tasks.worker worker -B``).
"""
