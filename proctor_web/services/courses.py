"""Users, courses and who belongs to which course in what role."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import NamedTuple

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from proctor_web.errors import AlreadyExists, BadRequest, NotFound
from proctor_web.extensions import db
from proctor_web.models import Course, CourseMembership, CourseRole, User
from proctor_web.services.validation import require_text

log = logging.getLogger(__name__)

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.@+-]{1,150}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8


def get_course(course_id: str) -> Course | None:
    return db.session.execute(
        select(Course).where(Course.course_id == course_id)
    ).scalar_one_or_none()


def ensure_course(course_id: str, now: datetime, display_name: str = "") -> Course:
    course = get_course(course_id)
    if course is None:
        course = Course(course_id=course_id, display_name=display_name or course_id,
                        created=now, modified=now)
        db.session.add(course)
        db.session.flush()
    return course


def create_user(
    username: str,
    password: str | None,
    now: datetime,
    email: str = "",
    full_name: str = "",
    is_staff: bool = False,
) -> User:
    username = require_text(username, "username", max_length=150)
    if not USERNAME_PATTERN.match(username):
        raise BadRequest(
            _("%(field)s: use letters, digits and _ . @ + - only.", field="username"),
            field="username",
        )
    if email and not EMAIL_PATTERN.match(email):
        raise BadRequest(_("%(field)s: %(value)s is not an email address.", field="email",
                           value=repr(email)), field="email")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequest(
            _("%(field)s: at least %(minimum)d characters.", field="password",
              minimum=MIN_PASSWORD_LENGTH),
            field="password",
        )
    if find_user(username) is not None:
        raise AlreadyExists(_("A user named %(username)s already exists.",
                              username=repr(username)))
    user = User(username=username, email=email, full_name=full_name, is_staff=is_staff,
                created=now, modified=now)
    if password is not None:
        user.set_password(password)
    db.session.add(user)
    db.session.flush()
    log.info("user %s created (staff=%s)", username, is_staff)
    return user


def find_user(username: str) -> User | None:
    return db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def get_user(username: str) -> User:
    user = find_user(username)
    if user is None:
        raise NotFound(_("No user named %(username)s.", username=repr(username)))
    return user


def resolve_user(user_info: str | int) -> User:
    """A user from an id, a username or an email, in that order (as the allowance API takes)."""
    text = str(user_info).strip()
    if not text:
        raise BadRequest(_("%(field)s: this field is required.", field="user_info"),
                         field="user_info")
    user = None
    if text.isdigit():
        user = db.session.get(User, int(text))
    if user is None:
        user = find_user(text)
    if user is None and "@" in text:
        user = db.session.execute(
            select(User).where(func.lower(User.email) == text.lower()).order_by(User.id).limit(1)
        ).scalar_one_or_none()
    if user is None:
        raise NotFound(_("Cannot find user %(user)s.", user=repr(text)), field="user_info")
    return user


def enroll(
    user: User, course_id: str, now: datetime, role: str = CourseRole.LEARNER.value,
    enrollment_mode: str = "verified",
) -> CourseMembership:
    """Add (or update) the user's membership of a course."""
    try:
        role = CourseRole(role).value
    except ValueError:
        raise BadRequest(
            _("%(field)s: expected one of %(choices)s, got %(value)s.", field="role",
              choices=", ".join(r.value for r in CourseRole), value=repr(role)),
            field="role",
        ) from None
    course_id = require_text(course_id, "course_id", max_length=255)
    ensure_course(course_id, now)
    membership = membership_of(user, course_id)
    if membership is None:
        membership = CourseMembership(user_id=user.id, course_id=course_id, role=role,
                                      enrollment_mode=enrollment_mode, created=now, modified=now)
        db.session.add(membership)
    else:
        membership.role = role
        membership.enrollment_mode = enrollment_mode
        membership.is_active = True
        membership.modified = now
    db.session.flush()
    return membership


def membership_of(user: User, course_id: str) -> CourseMembership | None:
    return db.session.execute(
        select(CourseMembership).where(
            CourseMembership.user_id == user.id, CourseMembership.course_id == course_id
        )
    ).scalar_one_or_none()


def is_enrolled(user: User, course_id: str) -> bool:
    return standing_in(user, course_id).enrolled


def can_manage(user: User, course_id: str) -> bool:
    """Global staff, or active staff of this course."""
    return user.is_staff or standing_in(user, course_id).manages


class Standing(NamedTuple):
    """Where a person stands in a course: ``manages`` (global staff, or active course staff)
    and ``enrolled`` (an active membership of any role)."""

    manages: bool
    enrolled: bool


def standing_in(user: User, course_id: str) -> Standing:
    """Both answers from one read of the membership (none for global staff's ``manages``)."""
    membership = membership_of(user, course_id)
    active = membership is not None and membership.is_active
    staff = active and membership is not None and membership.role == CourseRole.STAFF.value
    return Standing(manages=bool(user.is_staff or staff), enrolled=active)


def staff_of(course_id: str) -> list[User]:
    return list(
        db.session.execute(
            select(User)
            .join(CourseMembership)
            .where(
                CourseMembership.course_id == course_id,
                CourseMembership.role == CourseRole.STAFF.value,
                CourseMembership.is_active.is_(True),
            )
            .order_by(User.id)
        ).scalars()
    )


def search_users(text: str):
    pattern = f"%{text.lower()}%"
    return or_(func.lower(User.username).like(pattern), func.lower(User.email).like(pattern))
