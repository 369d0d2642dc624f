"""Course rosters from the LMS over LTI Names and Role Provisioning Services (NRPS 2.0).

A launch tells us the context's membership URL (``LtiContext.nrps_memberships_url``). A sync
reads every page of it (``Link: <...>; rel="next"``) and then enrolls each active member the
way a launch would (the same user for issuer + ``user_id``, the same role mapping), so
learners are known, and can get allowances or appear in the onboarding panel, before they
first launch. Members the roster marks Inactive or Deleted, and LMS users no longer in it,
lose their active membership; local accounts enrolled by hand are left alone.

The network part runs before anything is written, so a sync never holds the database's
write lock while it waits on the LMS. Each sync, failed or not, leaves an ``LtiRosterSync``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select

from proctor_web.extensions import db
from proctor_web.lti.platform_token import PlatformServiceError, service_request
from proctor_web.lti.tool.claims import is_staff_role
from proctor_web.lti.tool.provisioning import user_for_identity
from proctor_web.models import (
    CourseMembership,
    CourseRole,
    LtiContext,
    LtiPlatform,
    LtiRosterSync,
    User,
    UserIdentity,
)
from proctor_web.services import courses

log = logging.getLogger(__name__)

NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
NRPS_MEDIA_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
#: A roster larger than this many pages is cut off (and said so): a loop guard.
MAX_PAGES = 500


@dataclass
class RosterResult:
    """What one sync did; ``error`` is set (and nothing changed) when it failed."""

    members_seen: int = 0
    added: int = 0
    updated: int = 0
    deactivated: int = 0
    error: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.error


def fetch_members(platform: LtiPlatform, url: str, now: datetime) -> list[dict[str, Any]]:
    """Every member on every page of a membership container; raises PlatformServiceError."""
    members: list[dict[str, Any]] = []
    seen_urls: set[str] = set()
    next_url: str | None = url
    while next_url:
        if next_url in seen_urls or len(seen_urls) >= MAX_PAGES:
            raise PlatformServiceError(f"the roster's pages do not end ({len(seen_urls)} read)",
                                       retryable=False)
        seen_urls.add(next_url)
        response = service_request(platform, "GET", next_url, [NRPS_SCOPE], now,
                                   accept=NRPS_MEDIA_TYPE)
        try:
            page = response.json()
            page_members = page["members"]
        except (ValueError, KeyError, TypeError) as error:
            raise PlatformServiceError(f"the roster page at {next_url} is not a membership "
                                       f"container: {error}", retryable=False) from error
        if not isinstance(page_members, list):
            raise PlatformServiceError("the roster's members are not a list", retryable=False)
        members.extend(m for m in page_members if isinstance(m, dict))
        next_url = response.links.get("next", {}).get("url")
    return members


def _lms_users_enrolled(platform: LtiPlatform, course_id: str) -> dict[int, CourseMembership]:
    """Active memberships of the course held by users this platform asserted."""
    query = (
        select(CourseMembership)
        .where(
            CourseMembership.course_id == course_id,
            CourseMembership.is_active.is_(True),
            exists().where(UserIdentity.user_id == CourseMembership.user_id,
                           UserIdentity.issuer == platform.issuer),
        )
    )
    return {m.user_id: m for m in db.session.execute(query).scalars()}


def _identities(issuer: str, subjects: list[str]) -> dict[str, UserIdentity]:
    found: dict[str, UserIdentity] = {}
    for start in range(0, len(subjects), 500):  # keeps IN lists within every database's limit
        query = select(UserIdentity).where(UserIdentity.issuer == issuer,
                                           UserIdentity.subject.in_(subjects[start:start + 500]))
        found.update((i.subject, i) for i in db.session.execute(query).scalars())
    return found


def _memberships(course_id: str) -> dict[int, CourseMembership]:
    query = select(CourseMembership).where(CourseMembership.course_id == course_id)
    return {m.user_id: m for m in db.session.execute(query).scalars()}


def _usable(members: list[dict[str, Any]], result: RosterResult) -> list[dict[str, Any]]:
    usable = []
    for member in members:
        user_id = member.get("user_id")
        if not isinstance(user_id, str) or not user_id or len(user_id) > 255:
            result.warnings.append(f"member without a usable user_id skipped: {user_id!r}")
            continue
        usable.append(member)
    result.members_seen = len(usable)
    return usable


def _role(member: dict[str, Any]) -> str:
    raw_roles = member.get("roles")
    roles = [r for r in raw_roles if isinstance(r, str)] if isinstance(raw_roles, list) else []
    return CourseRole.STAFF.value if is_staff_role(roles) else CourseRole.LEARNER.value


def apply_members(context: LtiContext, members: list[dict[str, Any]], now: datetime,
                  result: RosterResult) -> None:
    """Enroll the active members, deactivate the others (flushes; the caller commits).

    Identities and memberships are read in bulk and changes flushed together: a course of a
    thousand learners is a few dozen statements on a resync, not thousands.
    """
    platform = context.platform
    course_id = context.course_id
    courses.ensure_course(course_id, now)
    usable = _usable(members, result)
    identities = _identities(platform.issuer, [m["user_id"] for m in usable])
    user_ids = [identity.user_id for identity in identities.values()]
    # Held here because the session only keeps weak references: the per-member lookups of
    # user_for_identity then find them without a query.
    known_users = [user for start in range(0, len(user_ids), 500) for user in db.session.execute(
        select(User).where(User.id.in_(user_ids[start:start + 500]))).scalars()]
    memberships = _memberships(course_id)
    before = _lms_users_enrolled(platform, course_id)
    listed: set[int] = set()
    with db.session.no_autoflush:
        for member in usable:
            identity = identities.get(member["user_id"])
            if str(member.get("status") or "Active") != "Active":
                if identity is not None:
                    listed.add(identity.user_id)
                    membership = before.get(identity.user_id)
                    if membership is not None:
                        membership.is_active, membership.modified = False, now
                        result.deactivated += 1
                continue
            role = _role(member)
            # The same user a launch finds or creates, with the name and email shared here.
            user = user_for_identity(platform.issuer, member["user_id"], member, now)
            listed.add(user.id)
            membership = memberships.get(user.id)
            if membership is None:
                membership = CourseMembership(user_id=user.id, course_id=course_id, role=role,
                                              enrollment_mode="verified", is_active=True,
                                              created=now, modified=now)
                db.session.add(membership)
                memberships[user.id] = membership
                result.added += 1
            elif not membership.is_active or membership.role != role:
                membership.is_active, membership.role, membership.modified = True, role, now
                result.updated += 1
        for user_id, membership in before.items():
            if user_id not in listed and membership.is_active:
                membership.is_active, membership.modified = False, now
                result.deactivated += 1
    db.session.flush()
    del known_users


def sync_context(context: LtiContext, now: datetime, requested_by: str = "") -> RosterResult:
    """Read the context's roster from the LMS and apply it; record the sync (flushes).

    Platform failures are reported in the result, not raised: nothing is changed then.
    """
    result = RosterResult()
    if not context.nrps_memberships_url:
        result.error = ("The LMS has not offered its roster service for this course yet: "
                        "launch the tool from the course once, then try again.")
    elif not context.platform.is_active:
        result.error = "The LMS registration of this course is disabled."
    else:
        try:
            members = fetch_members(context.platform, context.nrps_memberships_url, now)
        except PlatformServiceError as error:
            result.error = f"The LMS did not give the roster: {error.message}"
        else:
            apply_members(context, members, now, result)
            context.roster_synced_at = now
    db.session.add(LtiRosterSync(
        context_id=context.id, started_at=now, requested_by=requested_by[:150],
        members_seen=result.members_seen, added=result.added, updated=result.updated,
        deactivated=result.deactivated, error=result.error,
    ))
    db.session.flush()
    if result.error:
        log.warning("roster sync of LTI context %s failed: %s", context.id, result.error)
    else:
        log.info("roster sync of LTI context %s: %s seen, %s added, %s updated, "
                 "%s deactivated", context.id, result.members_seen, result.added,
                 result.updated, result.deactivated)
    return result


def sync_context_by_id(context_id: int, now: datetime, requested_by: str = "") -> RosterResult:
    context = db.session.get(LtiContext, context_id)
    if context is None:  # deleted since it was found due
        return RosterResult(error="This LMS course no longer exists.")
    return sync_context(context, now, requested_by)


def contexts_of_course(course_id: str) -> list[LtiContext]:
    return list(db.session.execute(
        select(LtiContext).where(LtiContext.course_id == course_id).order_by(LtiContext.id)
    ).scalars())


def sync_course(course_id: str, now: datetime, requested_by: str = "") -> list[RosterResult]:
    """Sync every LMS context behind a course (usually one)."""
    return [sync_context(context, now, requested_by) for context in contexts_of_course(course_id)]


def last_sync(context: LtiContext) -> LtiRosterSync | None:
    return db.session.execute(
        select(LtiRosterSync).where(LtiRosterSync.context_id == context.id)
        .order_by(LtiRosterSync.started_at.desc(), LtiRosterSync.id.desc()).limit(1)
    ).scalar_one_or_none()


def due_context_ids(now: datetime, every: timedelta, limit: int = 100) -> list[int]:
    """Contexts with a roster service whose last sync (or try) is older than ``every``."""
    recent = exists().where(LtiRosterSync.context_id == LtiContext.id,
                            LtiRosterSync.started_at > now - every)
    query = (
        select(LtiContext.id)
        .join(LtiPlatform, LtiPlatform.id == LtiContext.platform_id)
        .where(LtiContext.nrps_memberships_url.is_not(None), LtiPlatform.is_active.is_(True),
               ~recent)
        .order_by(LtiContext.roster_synced_at.is_not(None), LtiContext.roster_synced_at,
                  LtiContext.id)
        .limit(limit)
    )
    return list(db.session.execute(query).scalars())
