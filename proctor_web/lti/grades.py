"""Publishing proctoring outcomes to the LMS gradebook (LTI Assignment and Grade Services 2.0).

An exam opts in with ``LtiGradeSettings`` (publish, score when verified, score when rejected,
maximum). When an attempt of such an exam changes status, ``queue_outcome`` (subscribed to
``domain_events.attempt_changed``) writes one ``LtiScoreOutbox`` row per resource link of
the exam on a platform that knows the learner, in the transaction of the change. The row
holds the score exactly as the platform will get it, with the time of the change as its
``timestamp``, so late delivery still orders correctly on the platform's side.

Delivery happens after commit (``outbox``, kind ``lti_score``) and is retried by
``flask proctor sweep``: a platform that answers 5xx, 429 or not at all is tried again with a
backoff; one that refuses (other 4xx) marks the row refused with its reason. Scores of one
learner on one link go out in order: a later one waits while an earlier one is pending.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask_babel import gettext as _
from sqlalchemy import func, select

from proctor_web.database import immediate_transactions
from proctor_web.errors import BadRequest
from proctor_web.extensions import db
from proctor_web.lti.platform_token import PlatformServiceError, service_request
from proctor_web.models import (
    Attempt,
    DeliveryStatus,
    Exam,
    LtiGradeSettings,
    LtiPlatform,
    LtiResourceLink,
    LtiScoreOutbox,
    UserIdentity,
)
from proctor_web.models.attempt import AttemptStatus
from proctor_web.services import outbox
from proctor_web.services.domain_events import AttemptChanged, AttemptRemoved
from proctor_web.services.outbox import backoff, mark_for_delivery

log = logging.getLogger(__name__)
S = AttemptStatus

SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
MEDIA_SCORE = "application/vnd.ims.lis.v1.score+json"
MEDIA_LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
MEDIA_LINEITEMS = "application/vnd.ims.lis.v2.lineitemcontainer+json"
#: Our ``resourceId`` on line items we create, so we find them again and nobody else's.
RESOURCE_ID_PREFIX = "proctor_web-exam-"
MAX_LINEITEM_PAGES = 50


@dataclass(frozen=True)
class Outcome:
    activity_progress: str
    grading_progress: str
    #: The LtiGradeSettings attribute holding the score to give, if any.
    score_setting: str | None = None


#: Attempt status -> what the gradebook is told. Statuses not listed publish nothing.
OUTCOMES: dict[str, Outcome] = {
    S.SUBMITTED: Outcome("Submitted", "PendingManual"),
    S.SECOND_REVIEW_REQUIRED: Outcome("Submitted", "PendingManual"),
    S.VERIFIED: Outcome("Completed", "FullyGraded", "score_verified"),
    S.REJECTED: Outcome("Completed", "FullyGraded", "score_rejected"),
    S.ERROR: Outcome("Completed", "Failed"),
}


# Settings ---------------------------------------------------------------------------------


def settings_for(exam: Exam) -> LtiGradeSettings | None:
    return db.session.get(LtiGradeSettings, exam.id)


@dataclass(frozen=True)
class DeliverySummary:
    pending: int
    delivered: int
    refused: int
    last_refusal: str


def delivery_summary(exam: Exam) -> DeliverySummary:
    """How the exam's scores are faring on their way to the LMS (one grouped query)."""
    rows = db.session.execute(
        select(LtiScoreOutbox.status, func.count(), func.max(LtiScoreOutbox.id))
        .join(LtiResourceLink, LtiResourceLink.id == LtiScoreOutbox.resource_link_id)
        .where(LtiResourceLink.exam_id == exam.id)
        .group_by(LtiScoreOutbox.status)
    ).all()
    counts = {status: count for status, count, _latest in rows}
    latest_refused = next((latest for status, _c, latest in rows
                           if status == DeliveryStatus.REFUSED.value), None)
    refusal = db.session.get(LtiScoreOutbox, latest_refused) if latest_refused else None
    return DeliverySummary(
        pending=counts.get(DeliveryStatus.PENDING.value, 0),
        delivered=counts.get(DeliveryStatus.DELIVERED.value, 0),
        refused=counts.get(DeliveryStatus.REFUSED.value, 0),
        last_refusal=refusal.last_error if refusal else "",
    )


def _score(form: Mapping[str, Any], field: str, default: float) -> float:
    raw = form.get(field)
    if raw is None or str(raw).strip() == "":
        return default
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise BadRequest(_("%(field)s: expected a number, got %(value)s.", field=field,
                           value=repr(raw)), field=field) from None
    if not value >= 0 or value == float("inf"):
        raise BadRequest(_("%(field)s: must be a number of at least 0.", field=field),
                         field=field)
    return value


def save_settings(exam: Exam, form: Mapping[str, Any], now: datetime) -> LtiGradeSettings:
    """Validate and store an exam's grade publishing settings (flushes; caller commits)."""
    from proctor_web.services.validation import parse_bool

    publish = parse_bool(form.get("publish", "false"), "publish")
    maximum = _score(form, "score_maximum", 100.0)
    if maximum <= 0:
        raise BadRequest(_("score_maximum: must be above 0."), field="score_maximum")
    verified = _score(form, "score_verified", maximum)
    rejected = _score(form, "score_rejected", 0.0)
    for field, value in (("score_verified", verified), ("score_rejected", rejected)):
        if value > maximum:
            raise BadRequest(_("%(field)s: must not exceed the maximum score (%(maximum)s).",
                               field=field, maximum=f"{maximum:g}"), field=field)
    settings = settings_for(exam)
    if settings is None:
        settings = LtiGradeSettings(exam_id=exam.id, created=now)
        db.session.add(settings)
    settings.publish = publish
    settings.score_maximum, settings.score_verified, settings.score_rejected = (
        maximum, verified, rejected)
    settings.modified = now
    db.session.flush()
    log.info("exam %s: LMS grade publishing %s (verified %g, rejected %g, maximum %g)",
             exam.id, "on" if publish else "off", verified, rejected, maximum)
    return settings


# Queueing ---------------------------------------------------------------------------------


def score_payload(outcome: Outcome, settings: LtiGradeSettings, user_sub: str,
                  now: datetime) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "userId": user_sub,
        "timestamp": now.isoformat(),
        "activityProgress": outcome.activity_progress,
        "gradingProgress": outcome.grading_progress,
    }
    if outcome.score_setting is not None:
        payload["scoreGiven"] = getattr(settings, outcome.score_setting)
        payload["scoreMaximum"] = settings.score_maximum
    return payload


def _links_with_identity(attempt: Attempt) -> list[tuple[LtiResourceLink, UserIdentity]]:
    """The exam's resource links on platforms that know this learner, with that identity."""
    query = (
        select(LtiResourceLink, UserIdentity)
        .join(LtiPlatform, LtiPlatform.id == LtiResourceLink.platform_id)
        .join(UserIdentity, UserIdentity.issuer == LtiPlatform.issuer)
        .where(LtiResourceLink.exam_id == attempt.exam_id,
               UserIdentity.user_id == attempt.user_id)
        .order_by(LtiResourceLink.id)
    )
    return [(link, identity) for link, identity in db.session.execute(query).all()]


def _can_publish(link: LtiResourceLink) -> bool:
    if not (link.ags_lineitem_url or link.ags_lineitems_url):
        return False
    scopes = link.ags_scopes.split()
    return not scopes or SCOPE_SCORE in scopes


#: Sent when an attempt whose outcome was published is removed (staff reset): the gradebook
#: forgets the old result until the learner's next attempt has one (no scoreGiven = cleared).
REMOVED = "removed"
CLEARED = Outcome("Initialized", "NotReady")


def on_attempt_changed(event: AttemptChanged) -> None:
    """Subscriber of ``domain_events.attempt_changed``: the score the new status means."""
    queue_outcome(event.attempt, event.to_status, event.now)


def on_attempt_removed(event: AttemptRemoved) -> None:
    """Subscriber of ``domain_events.attempt_removed``: clear the gradebook entry."""
    queue_removal(event.attempt, event.now)


def queue_removal(attempt: Attempt, now: datetime) -> list[LtiScoreOutbox]:
    """Called before an attempt is deleted: clear what its outcome put in the gradebook."""
    if attempt.status not in OUTCOMES:
        return []
    return queue_outcome(attempt, REMOVED, now)


def queue_outcome(attempt: Attempt, to_status: str, now: datetime) -> list[LtiScoreOutbox]:
    """Queue the score the new status means, if the exam publishes to an LMS (flushes)."""
    outcome = CLEARED if to_status == REMOVED else OUTCOMES.get(to_status)
    if outcome is None or attempt.is_sample_attempt:
        return []
    settings = db.session.get(LtiGradeSettings, attempt.exam_id)
    if settings is None or not settings.publish:
        return []
    rows = []
    for link, identity in _links_with_identity(attempt):
        if not _can_publish(link):
            log.info("attempt %s: resource link %s offers no score service", attempt.id, link.id)
            continue
        row = LtiScoreOutbox(
            attempt_id=attempt.id, resource_link_id=link.id, attempt_status=to_status,
            payload=json.dumps(score_payload(outcome, settings, identity.subject, now)),
            lineitem_url=link.ags_lineitem_url, status=DeliveryStatus.PENDING.value, tries=0,
            next_attempt_at=now, last_error="", created_at=now,
        )
        db.session.add(row)
        rows.append(row)
    if rows:
        db.session.flush()
        for row in rows:
            mark_for_delivery(db.session(), "lti_score", row.id)
    return rows


# Delivery ---------------------------------------------------------------------------------


def _scopes(link: LtiResourceLink, wanted: Iterable[str]) -> list[str]:
    """The scopes to ask for: what we need, within what the launch said is on offer."""
    offered = set(link.ags_scopes.split())
    return sorted(s for s in wanted if not offered or s in offered)


def _our_resource_id(exam: Exam) -> str:
    return f"{RESOURCE_ID_PREFIX}{exam.id}"


def find_or_create_lineitem(link: LtiResourceLink, exam: Exam, maximum: float,
                            now: datetime) -> str:
    """The line item for ``link`` in its container: ours if it exists, else a new one."""
    if not link.ags_lineitems_url:
        raise PlatformServiceError("the LMS offers no line item for this link and no line "
                                   "items service", retryable=False)
    scopes = _scopes(link, (SCOPE_LINEITEM, SCOPE_SCORE))
    if SCOPE_LINEITEM not in scopes:
        raise PlatformServiceError("the LMS does not let us create line items (scope)",
                                   retryable=False)
    url: str | None = link.ags_lineitems_url
    params: dict[str, Any] | None = {"resource_link_id": link.resource_link_id}
    candidates: list[dict[str, Any]] = []
    for _page in range(MAX_LINEITEM_PAGES):
        if url is None:
            break
        response = service_request(link.platform, "GET", url, scopes, now,
                                   accept=MEDIA_LINEITEMS, params=params)
        items = _json(response, list)
        candidates += [i for i in items if isinstance(i, dict)
                       and i.get("resourceLinkId") == link.resource_link_id and i.get("id")]
        url, params = response.links.get("next", {}).get("url"), None
    ours = [i for i in candidates if i.get("resourceId") == _our_resource_id(exam)]
    if ours or candidates:
        return str((ours or candidates)[0]["id"])
    created = service_request(
        link.platform, "POST", link.ags_lineitems_url, scopes, now,
        accept=MEDIA_LINEITEM, content_type=MEDIA_LINEITEM,
        json_body={"scoreMaximum": maximum, "label": exam.exam_name[:255] or link.title,
                   "resourceLinkId": link.resource_link_id,
                   "resourceId": _our_resource_id(exam), "tag": "proctoring"},
    )
    lineitem_id = _json(created, dict).get("id")
    if not isinstance(lineitem_id, str) or not lineitem_id:
        raise PlatformServiceError("the LMS created a line item without an id", retryable=False)
    return lineitem_id


def _json(response: Any, kind: type) -> Any:
    """The body as ``kind`` (list or dict), or a refusal naming what the LMS sent instead."""
    try:
        body = response.json() if response.content else kind()
    except ValueError:
        body = None
    if not isinstance(body, kind):
        raise PlatformServiceError(
            f"the LMS answered {response.request.method} {response.url} with something that "
            f"is not a JSON {kind.__name__}", retryable=False, status=response.status_code)
    return body


def scores_url(lineitem_url: str) -> str:
    """``<lineitem>/scores``, keeping the line item URL's query (AGS 2.0 3.4)."""
    parts = urlsplit(lineitem_url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


def deliver_score(row: LtiScoreOutbox, now: datetime) -> bool:
    """Try one score; record the outcome on the row (flush only). True when delivered."""
    row.tries += 1
    link = db.session.get(LtiResourceLink, row.resource_link_id)
    assert link is not None  # the outbox row cascades with its link
    payload = json.loads(row.payload)
    try:
        if not row.lineitem_url:
            exam = db.session.get(Exam, link.exam_id) if link.exam_id else None
            if exam is None:
                raise PlatformServiceError("the resource link no longer opens an exam",
                                           retryable=False)
            maximum = payload.get("scoreMaximum")
            if maximum is None:
                settings = db.session.get(LtiGradeSettings, exam.id)
                maximum = settings.score_maximum if settings else 100.0
            row.lineitem_url = find_or_create_lineitem(link, exam, maximum, now)
        service_request(link.platform, "POST", scores_url(row.lineitem_url),
                        _scopes(link, (SCOPE_LINEITEM, SCOPE_SCORE)), now,
                        content_type=MEDIA_SCORE, json_body=payload)
    except PlatformServiceError as error:
        row.last_error = error.message[:1000]
        if error.retryable and row.tries >= outbox.max_tries():
            row.status = DeliveryStatus.DEAD.value
            log.error("LTI score %s (attempt %s, %s) is a dead letter after %s tries: %s",
                      row.id, row.attempt_id, row.attempt_status, row.tries, error.message)
        elif error.retryable:
            row.next_attempt_at = now + backoff(row.tries)
            log.warning("LTI score %s (attempt %s, %s) not delivered, retry at %s: %s", row.id,
                        row.attempt_id, row.attempt_status, row.next_attempt_at.isoformat(),
                        error.message)
        else:
            row.status = DeliveryStatus.REFUSED.value
            log.error("LTI score %s (attempt %s, %s) refused: %s", row.id, row.attempt_id,
                      row.attempt_status, error.message)
        db.session.flush()
        return False
    row.status = DeliveryStatus.DELIVERED.value
    row.delivered_at = now
    row.last_error = ""
    log.info("LTI score %s (attempt %s, %s) delivered to %s", row.id, row.attempt_id,
             row.attempt_status, row.lineitem_url)
    db.session.flush()
    return True


def deliver_pending(now: datetime, ids: Iterable[int] | None = None, limit: int = 200) -> int:
    """Deliver due pending scores (or just ``ids``), oldest first; returns how many went.

    A score waits while an older one for the same learner and link is pending, so the
    gradebook never sees "submitted" after "verified".
    """
    query = (
        select(LtiScoreOutbox)
        .where(LtiScoreOutbox.status == DeliveryStatus.PENDING.value)
        .order_by(LtiScoreOutbox.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    wanted = set(ids) if ids is not None else None
    delivered = 0
    blocked: set[tuple[int, str]] = set()
    for row in db.session.execute(query).scalars().all():
        key = (row.resource_link_id, str(json.loads(row.payload).get("userId")))
        if key in blocked:
            continue
        if row.next_attempt_at > now or (wanted is not None and row.id not in wanted):
            blocked.add(key)
            continue
        if deliver_score(row, now):
            delivered += 1
        elif row.status == DeliveryStatus.PENDING.value:
            blocked.add(key)
    return delivered


def deliver_outbox(now: datetime, ids: list[int] | None) -> int:
    """The ``lti_score`` outbox kind: deliver due scores (or just ``ids``) and commit.

    Unlike provider events and emails, a score is still sent inside its transaction; on
    SQLite that holds the write lock for the LMS's answer (bounded by
    ``LTI_SERVICE_TIMEOUT_SECONDS``), and it runs in the background, never in a request.
    """
    with immediate_transactions():
        delivered = deliver_pending(now, ids=ids)
        db.session.commit()
    return delivered


def register_outbox() -> None:
    """Scores go through the background dispatcher, the sweep and dead letters like the
    other outboxes."""
    outbox.register_kind("lti_score", deliver_outbox, LtiScoreOutbox)
