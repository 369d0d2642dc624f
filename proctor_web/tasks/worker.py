"""The Celery worker's entry point: ``celery -A proctor_web.tasks.worker worker -B``.

It builds the Flask app from the environment (``PROCTOR_*``) on first use of the ``app``
(or ``celery``) attribute and returns the Celery app bound to it. Kept apart from
``celery_app`` because it needs ``create_app``, which sits at the top of the import graph.
"""

from __future__ import annotations

from celery import Celery

from proctor_web import create_app
from proctor_web.tasks.celery_app import get_celery

_worker_celery: Celery | None = None


def __getattr__(name: str) -> Celery:
    # ``celery -A proctor_web.tasks.worker`` looks up ``app`` then ``celery``.
    if name in ("app", "celery"):
        global _worker_celery
        if _worker_celery is None:
            _worker_celery = get_celery(create_app())
        return _worker_celery
    raise AttributeError(name)
