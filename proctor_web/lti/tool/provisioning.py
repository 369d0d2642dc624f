"""What an accepted launch creates or updates: the user behind (issuer, sub), the course
behind the LTI context, the user's role in it, and the resource link with its services."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from proctor_web.extensions import db
from proctor_web.lti.tool import claims as c
from proctor_web.lti.tool.errors import LaunchRefused
from proctor_web.lti.tool.launch import Launch, verify_launch
from proctor_web.models import (
    Course,
    CourseRole,
    Exam,
    LtiContext,
    LtiPlatform,
    LtiResourceLink,
    User,
    UserIdentity,
)
from proctor_web.services import courses, exams

SAFE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Provisioned:
    user: User
    course: Course
    context: LtiContext
    is_staff: bool
    link: LtiResourceLink | None
    exam: Exam | None


def _digest(*parts: str, length: int = 16) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:length]


def _shared_name(claims: dict[str, Any]) -> str:
    name = claims.get("name")
    if not isinstance(name, str) or not name.strip():
        given, family = claims.get("given_name"), claims.get("family_name")
        name = " ".join(p.strip() for p in (given, family) if isinstance(p, str) and p.strip())
    return (name or "").strip()[:255]


def _shared_email(claims: dict[str, Any]) -> str:
    email = claims.get("email")
    if isinstance(email, str) and len(email) <= 254 and EMAIL.match(email.strip()):
        return email.strip()
    return ""


def _new_username(issuer: str, subject: str) -> str:
    """Never the platform's own login name (it may clash or change): a digest of the
    identity, lengthened in the unlikely case it is taken."""
    for length in (12, 20, 32, 64):
        username = f"lti-{_digest(issuer, subject, length=length)}"
        if courses.find_user(username) is None:
            return username
    raise RuntimeError("no free username")  # 2^256 collisions: not reachable


def user_for_identity(issuer: str, subject: str, claims: dict[str, Any],
                      now: datetime) -> User:
    """The user the platform asserts, created at the first launch, updated at each one."""
    identity = db.session.execute(select(UserIdentity).where(
        UserIdentity.issuer == issuer, UserIdentity.subject == subject)).scalar_one_or_none()
    name, email = _shared_name(claims), _shared_email(claims)
    if identity is None:
        user = courses.create_user(_new_username(issuer, subject), None, now, email=email,
                                   full_name=name)
        db.session.add(UserIdentity(user_id=user.id, issuer=issuer, subject=subject,
                                    created=now, modified=now))
        db.session.flush()
        return user
    user = db.session.get(User, identity.user_id)
    assert user is not None  # the foreign key cascades
    if name and name != user.full_name:
        user.full_name = name
    if email and email != user.email:
        user.email = email
    user.modified = now
    return user


def _course_id_for(platform: LtiPlatform, context_id: str) -> str:
    local = context_id if SAFE_ID.match(context_id) else _digest(context_id)
    return f"course-v1:lti+p{platform.id}+{local}"


def context_for(platform: LtiPlatform, claims: dict[str, Any], deployment_id: str,
                now: datetime) -> LtiContext:
    context_claim = claims.get(c.CONTEXT) if isinstance(claims.get(c.CONTEXT), dict) else {}
    context_id = context_claim.get("id")
    if not isinstance(context_id, str) or not context_id:
        # No context: the deployment stands for the course.
        context_id = f"deployment:{deployment_id}"
    title = context_claim.get("title") or context_claim.get("label") or ""
    title = str(title).strip()[:255]
    context = db.session.execute(select(LtiContext).where(
        LtiContext.platform_id == platform.id, LtiContext.context_id == context_id[:255]),
    ).scalar_one_or_none()
    if context is None:
        course_id = _course_id_for(platform, context_id)
        course = courses.ensure_course(course_id, now, display_name=title or context_id[:255])
        course.lti_context_id = context_id[:255]
        context = LtiContext(platform_id=platform.id, context_id=context_id[:255],
                             course_id=course_id, title=title, created=now, modified=now)
        db.session.add(context)
    elif title and title != context.title:
        context.title = title
        context.modified = now
        course = courses.get_course(context.course_id)
        if course is not None:
            course.display_name = title
    nrps = claims.get(c.NRPS)
    if isinstance(nrps, dict) and isinstance(nrps.get("context_memberships_url"), str):
        context.nrps_memberships_url = nrps["context_memberships_url"][:1024]
    db.session.flush()
    return context


def _store_services(link: LtiResourceLink, claims: dict[str, Any]) -> None:
    endpoint = claims.get(c.AGS_ENDPOINT)
    if not isinstance(endpoint, dict):
        return
    for attribute, key in (("ags_lineitem_url", "lineitem"),
                           ("ags_lineitems_url", "lineitems")):
        value = endpoint.get(key)
        setattr(link, attribute, value[:1024] if isinstance(value, str) else None)
    scopes = endpoint.get("scope")
    link.ags_scopes = " ".join(s for s in scopes if isinstance(s, str)) if isinstance(
        scopes, list) else ""


def resource_link_for(launch: Launch, context: LtiContext, now: datetime) -> LtiResourceLink:
    claim = launch.claims[c.RESOURCE_LINK]
    link_id = str(claim["id"])[:255]
    link = db.session.execute(select(LtiResourceLink).where(
        LtiResourceLink.platform_id == launch.platform.id,
        LtiResourceLink.resource_link_id == link_id)).scalar_one_or_none()
    title = str(claim.get("title") or "").strip()[:255]
    if link is None:
        link = LtiResourceLink(platform_id=launch.platform.id, context_id=context.id,
                               resource_link_id=link_id, title=title, ags_scopes="",
                               created=now, modified=now)
        db.session.add(link)
    elif title:
        link.title = title
    link.context_id = context.id
    _store_services(link, launch.claims)
    content_id = launch.custom.get(c.CONTENT_ID_PARAMETER)
    if isinstance(content_id, str) and content_id.strip():
        exam = exams.find_exam(context.course_id, content_id.strip())
        if exam is not None:
            link.exam_id = exam.id
    link.modified = now
    db.session.flush()
    return link


def apply_launch(launch: Launch, now: datetime) -> Provisioned:
    """Create or update everything the launch tells us (flushes; the view commits)."""
    user = user_for_identity(launch.platform.issuer, launch.subject, launch.claims, now)
    context = context_for(launch.platform, launch.claims, launch.deployment_id, now)
    is_staff = c.is_staff_role(launch.roles)
    role = CourseRole.STAFF.value if is_staff else CourseRole.LEARNER.value
    courses.enroll(user, context.course_id, now, role=role)
    course = courses.get_course(context.course_id)
    assert course is not None
    link = exam = None
    if launch.message_type == c.RESOURCE_LINK_REQUEST:
        link = resource_link_for(launch, context, now)
        if link.exam_id is not None:
            exam = db.session.get(Exam, link.exam_id)
            if exam is not None and (exam.course_id != context.course_id or not exam.is_active):
                exam = None
    return Provisioned(user=user, course=course, context=context, is_staff=is_staff,
                       link=link, exam=exam)


def accept_launch(id_token: str, state: str, browser_state: str | None,
                  now: datetime) -> tuple[Launch, Provisioned]:
    """The whole launch: verify it, then create or update what it tells us (flushes).

    Raises ``LaunchRefused`` before anything is written when a check fails.
    """
    launch = verify_launch(id_token, state, browser_state, now)
    if launch.message_type == c.DEEP_LINKING_REQUEST and not c.is_staff_role(launch.roles):
        raise LaunchRefused("not_instructor", _(
            "Only instructors can add exams to the course."), status=403,
            return_url=launch.return_url)
    return launch, apply_launch(launch, now)


def link_exam(link: LtiResourceLink, exam: Exam, now: datetime) -> None:
    """Point a resource link at an exam of its own course (instructor's choice)."""
    link.exam_id = exam.id
    link.modified = now
    db.session.flush()
