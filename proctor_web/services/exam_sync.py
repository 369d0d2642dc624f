"""Keeping a provider's copy of an exam current: ``on_exam_saved`` (subscriber of
``exam_saved``) pushes a saved exam after commit, in the background; ``sync_exams`` (the
sweep, and the background task) re-pushes what a provider may not have yet."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select

from proctor_web.backends import backend_registry, get_backend
from proctor_web.backends.base import ExamData, ProctoringBackend
from proctor_web.errors import BackendError
from proctor_web.extensions import db
from proctor_web.models import (
    Exam,
    ExamSyncState,
)
from proctor_web.services.domain_events import ExamSaved
from proctor_web.services.exams import backend_for, exam_data
from proctor_web.services.outbox import mark_for_delivery, register_kind

log = logging.getLogger(__name__)



def on_exam_saved(event: ExamSaved) -> None:
    """Subscriber of ``domain_events.exam_saved``: tell the exam's provider.

    A provider that keeps exams (``needs_exam_sync``, a network call) is pushed after
    commit, in the background (outbox kind ``exam_push``), never inside the staff's
    request; the sweep re-pushes whatever did not get there (``sync_exams`` compares what
    was pushed). Other backends answer ``on_exam_saved`` locally, so it runs here.
    """
    exam = event.exam
    if event.withdrawn:
        if not exam.external_id:
            return  # its provider never heard of it: nothing to withdraw
    elif backend_for(exam) is None:
        return
    target = _push_target(exam)
    if target is None:
        return
    backend, data = target
    if backend.needs_exam_sync:
        db.session.flush()
        mark_for_delivery(db.session(), "exam_push", exam.id)
        return
    record_exam_push(exam, backend.name, data, backend.on_exam_saved(data), event.now)


def _exam_hash(exam: Exam) -> str:
    return _data_hash(exam_data(exam))


def _data_hash(data: ExamData) -> str:
    return hashlib.sha256(json.dumps(data.__dict__, sort_keys=True,
                                     default=str).encode()).hexdigest()


def _push_target(exam: Exam) -> tuple[ProctoringBackend, ExamData] | None:
    """The provider to push ``exam`` to and what to push, or None when none should know it.

    An exam that is no longer proctored (switched to timed) still goes to the provider that
    knew it, marked unproctored and inactive: from the provider's side it is withdrawn.
    """
    data = exam_data(exam)
    if exam.has_backend:
        backend = backend_for(exam)
    elif exam.external_id and exam.backend:
        backend = get_backend(exam.backend)
        data = replace(data, is_proctored=False, is_active=False)
    else:
        return None
    return None if backend is None else (backend, data)


def push_exam(exam: Exam, now: datetime) -> None:
    """Push ``exam`` to its provider now, raising ``BackendError`` if it does not get there."""
    target = _push_target(exam)
    if target is None:
        return
    backend, data = target
    record_exam_push(exam, backend.name, data, backend.save_exam(data), now)


def record_exam_push(exam: Exam, backend_name: str, pushed: ExamData,
                     external_id: str | None, now: datetime) -> None:
    """Remember that the provider now holds ``pushed`` under ``external_id`` (flush only).

    The hash is of what was pushed (with the provider's id), so an exam edited while the
    provider was being called still differs from it and is pushed again by the sweep.
    """
    if external_id and external_id != exam.external_id:
        exam.external_id = external_id
        db.session.flush()
    state = db.session.get(ExamSyncState, exam.id)
    if state is None:
        state = ExamSyncState(exam_id=exam.id, backend=backend_name, synced_hash="")
        db.session.add(state)
    state.backend = backend_name
    state.synced_hash = _data_hash(replace(pushed, external_id=exam.external_id))
    state.synced_at = now
    db.session.flush()


def ensure_exam_pushed(exam: Exam, now: datetime) -> None:
    """Before registering an attempt: an exam its provider does not know yet is pushed."""
    backend = backend_for(exam)
    if backend is not None and backend.needs_exam_sync and not exam.external_id:
        push_exam(exam, now)


def register_outbox() -> None:
    """Exam pushes run as background work after the commit that saved the exam."""
    register_kind("exam_push", _deliver_exam_pushes, None)


def _deliver_exam_pushes(now: datetime, exam_ids: list[int] | None) -> int:
    if exam_ids is None:
        return 0  # the sweep calls ``sync_exams`` itself and reports its own figures
    return sync_exams(now, exam_ids)[0]


def sync_exams(now: datetime, exam_ids: list[int] | None = None) -> tuple[int, int]:
    """Re-push every proctored exam (or those of ``exam_ids``) whose provider copy may be
    stale; (pushed, failed).

    Exams are pushed when saved, but that push must not fail the save, so a provider outage
    leaves exams behind; this is the retry. Only backends that keep exams are considered.
    A job, not a service: it commits before each call to a provider and records each push
    in its own short transaction, so no transaction (on SQLite: no write lock) stays open
    while a provider is slow or down.
    """

    names = [b.name for b in backend_registry().all() if b.needs_exam_sync]
    if not names:
        return 0, 0
    # Proctored exams, and exams a provider knows that have since become timed (they are
    # withdrawn there: see ``_push_target``).
    query = select(Exam.id).where(
        Exam.backend.in_(names),
        (Exam.is_proctored.is_(True)) | (Exam.is_practice_exam.is_(True))
        | Exam.external_id.is_not(None),
    ).order_by(Exam.id)
    if exam_ids is not None:
        query = query.where(Exam.id.in_(exam_ids))
    pushed = failed = 0
    for exam_id in db.session.execute(query).scalars().all():
        exam = db.session.get(Exam, exam_id)
        target = _push_target(exam) if exam is not None else None
        if exam is None or target is None:
            continue
        backend, data = target
        state = db.session.get(ExamSyncState, exam.id)
        if exam.external_id and state is not None and state.synced_hash == _data_hash(data):
            continue
        db.session.commit()  # no transaction open while the provider is called
        try:
            external_id = backend.save_exam(data)
        except BackendError as error:
            failed += 1
            log.warning("exam %s still not pushed to %s: %s", exam_id, backend.name,
                        error.message)
            continue
        exam = db.session.get(Exam, exam_id)
        if exam is not None:
            record_exam_push(exam, backend.name, data, external_id, now)
            db.session.commit()
            pushed += 1
    return pushed, failed
