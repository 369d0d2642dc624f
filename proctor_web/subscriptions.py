"""Who listens to the domain events (``services.domain_events``): wired once by ``create_app``.

| event             | subscribers, in order                                              |
|-------------------|--------------------------------------------------------------------|
| attempt_created   | registration (register with the provider: now, or after commit)    |
| attempt_changed   | provider_sync (the provider's start/stop/error/remove), notifications
|                   | (the learner's status email), lti.grades (the LMS gradebook)       |
| attempt_removed   | reviews (the review is archived), provider_sync (remove), lti.grades|
| exam_saved        | exam_sync (push the exam to its provider, in the background)       |

Every subscriber only writes rows in the sender's transaction (outbox rows that background
work delivers after commit; registration asks a local backend at once and leaves a remote
one for after the commit, see ``services.registration``). Blinker keeps one connection per
receiver function, so calling ``connect`` for every app (tests build many) connects each
subscriber once.
"""

from __future__ import annotations

from flask import Flask

from proctor_web.lti import grades
from proctor_web.services import (
    exam_sync,
    notifications,
    outbox,
    provider_sync,
    registration,
    reviews,
)
from proctor_web.services.domain_events import (
    attempt_changed,
    attempt_created,
    attempt_removed,
    exam_saved,
)
from proctor_web.tasks import dispatch


def connect(app: Flask) -> None:
    attempt_created.connect(registration.on_attempt_created, weak=False)
    attempt_changed.connect(provider_sync.on_attempt_changed, weak=False)
    attempt_changed.connect(notifications.on_attempt_changed, weak=False)
    attempt_changed.connect(grades.on_attempt_changed, weak=False)
    attempt_removed.connect(reviews.on_attempt_removed, weak=False)
    attempt_removed.connect(provider_sync.on_attempt_removed, weak=False)
    attempt_removed.connect(grades.on_attempt_removed, weak=False)
    exam_saved.connect(exam_sync.on_exam_saved, weak=False)

    exam_sync.register_outbox()
    grades.register_outbox()
    # Committed outbox rows go to background work: a thread, Celery, or (tests) in-process.
    outbox.init_app(app, hand_over=dispatch.enqueue)
