"""A course's roster on the dashboard, for courses that no LMS feeds: who is in it, and the
staff's changes (add a learner, import learners from CSV, enroll again, deactivate, send
an account's invitation again). A learner added without a password is mailed an invitation
to choose one (``services.password_links``).

A course linked to an LMS course (``lti_context_id``) takes its roster from the LMS sync;
its roster is read-only here. Every change writes one log line naming who did it.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from proctor_web.errors import BadRequest, NotFound, PermissionDenied
from proctor_web.extensions import db
from proctor_web.models import Course, CourseMembership, CourseRole, EmailMessage, User
from proctor_web.services import accounts, courses, password_links

log = logging.getLogger(__name__)

#: Rows one import may hold; a larger class is imported in several files.
MAX_IMPORT_ROWS = 2000
HEADER = ("username", "email", "full name")


@dataclass(frozen=True)
class Enrolled:
    """A learner an add or an import enrolled, and whether they were sent an invitation."""

    user: User
    invited: bool


@dataclass(frozen=True)
class Member:
    membership: CourseMembership
    user: User

    @property
    def is_learner(self) -> bool:
        return self.membership.role == CourseRole.LEARNER.value

    @property
    def can_be_invited(self) -> bool:
        return self.is_learner and password_links.can_be_invited(self.user)


def members(course_id: str) -> list[Member]:
    """Everyone enrolled in the course (active or not), staff first, then by username."""
    rows = db.session.execute(
        select(CourseMembership, User)
        .join(User, User.id == CourseMembership.user_id)
        .where(CourseMembership.course_id == course_id)
        .order_by(CourseMembership.role.desc(), User.username)
    ).all()
    return [Member(membership, user) for membership, user in rows]


def is_editable(course: Course) -> bool:
    return not course.lti_context_id


def require_editable(course: Course) -> None:
    if not is_editable(course):
        raise PermissionDenied(_("This course's roster comes from the LMS: change it there; "
                                 "the sync brings the changes here."))


@dataclass
class ImportRow:
    line: int
    username: str
    email: str
    full_name: str
    errors: list[str] = field(default_factory=list)
    #: The account that already has this username (it is enrolled, not changed).
    existing: User | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def _check_row(row: ImportRow, known: dict[str, User], staff: set[int]) -> None:
    if not row.username:
        row.errors.append(_("The username is missing."))
    elif not courses.USERNAME_PATTERN.match(row.username):
        row.errors.append(_("The username may use letters, digits and _ . @ + - only, "
                            "150 at most."))
    if row.email and not courses.EMAIL_PATTERN.match(row.email):
        row.errors.append(_("“%(email)s” is not an email address.", email=row.email))
    if len(row.email) > 254 or len(row.full_name) > 255:
        row.errors.append(_("The email or the full name is too long."))
    existing = known.get(row.username)
    if existing is not None:
        if row.email and existing.email and existing.email.lower() != row.email.lower():
            row.errors.append(_("The username %(username)s belongs to an account with another "
                                "email address.", username=row.username))
        elif existing.is_staff or existing.id in staff:
            row.errors.append(_("%(username)s is a staff account.", username=row.username))
        row.existing = existing


def check_rows(course_id: str, rows: list[ImportRow]) -> list[ImportRow]:
    """Mark each row's problems (in place): bad username or email, a username twice in the
    file, a username that belongs to somebody else or to staff."""
    names = [r.username for r in rows if r.username]
    known = {u.username: u for u in db.session.execute(
        select(User).where(User.username.in_(names))).scalars()} if names else {}
    staff = set(db.session.execute(select(CourseMembership.user_id).where(
        CourseMembership.course_id == course_id,
        CourseMembership.role == CourseRole.STAFF.value)).scalars())
    seen: dict[str, int] = {}
    for row in rows:
        _check_row(row, known, staff)
        if row.username in seen:
            row.errors.append(_("The username is also on line %(line)d.", line=seen[row.username]))
        seen.setdefault(row.username, row.line)
    return rows


def parse_csv(text: str) -> list[ImportRow]:
    """``username,email,full name`` rows (a header line is optional); a blank line is
    skipped. Raises BadRequest when the file cannot be read as such a list at all."""
    text = text.lstrip("\ufeff")
    try:
        lines = list(csv.reader(io.StringIO(text)))
    except csv.Error as error:
        raise BadRequest(_("The file is not a CSV file: %(reason)s", reason=str(error)),
                         field="csv") from None
    rows: list[ImportRow] = []
    for number, cells in enumerate(lines, start=1):
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue
        if number == 1 and tuple(c.lower() for c in cells[:3]) == HEADER:
            continue
        row = ImportRow(number, *(cells + ["", "", ""])[:3])
        if len(cells) > 3:
            row.errors.append(_("Expected 3 columns (username, email, full name), found "
                                "%(num)d.", num=len(cells)))
        rows.append(row)
    if not rows:
        raise BadRequest(_("The file has no learners: one line per learner, "
                           "username,email,full name."), field="csv")
    if len(rows) > MAX_IMPORT_ROWS:
        raise BadRequest(_("At most %(maximum)d learners per file; this one has %(num)d.",
                           maximum=MAX_IMPORT_ROWS, num=len(rows)), field="csv")
    return rows


def preview_import(course: Course, text: str) -> list[ImportRow]:
    """The rows of a CSV file with each one's problems; nothing is saved."""
    require_editable(course)
    return check_rows(course.course_id, parse_csv(text))


def course_label(course: Course) -> str:
    return course.display_name or course.course_id


def _add(course: Course, row: ImportRow, actor: User, now: datetime) -> Enrolled:
    user = row.existing
    if user is None:
        user = courses.create_user(row.username, None, now, email=row.email,
                                   full_name=row.full_name)
    courses.enroll(user, course.course_id, now, role=CourseRole.LEARNER.value)
    if not user.is_active_account and not _other_courses(user, course.course_id):
        accounts.set_active(user, True, now)
    invited = password_links.send_invitation(user, actor, now, course_label(course)) is not None
    log.info("roster of %s: %s enrolled (%s%s) by %s", course.course_id, user.username,
             "new account" if row.existing is None else "existing account",
             ", invited" if invited else "", actor.username)
    return Enrolled(user, invited)


def import_learners(course: Course, text: str, actor: User, now: datetime) -> list[Enrolled]:
    """Create and enroll every learner of the file, all or none: a file with any row in error
    is refused whole (BadRequest) and nothing is saved. Each account without a password is
    sent an invitation (queued in the same transaction)."""
    rows = preview_import(course, text)
    bad = [r for r in rows if not r.ok]
    if bad:
        raise BadRequest(_("Nothing was imported: %(num)d line(s) have problems; correct "
                           "them and try again.", num=len(bad)), field="csv")
    added = [_add(course, row, actor, now) for row in rows]
    db.session.flush()
    return added


def add_learner(course: Course, username: str, email: str, full_name: str, actor: User,
                now: datetime) -> Enrolled:
    """One learner, new or existing account, enrolled in the course (and invited to choose
    a password when the account has none)."""
    require_editable(course)
    row = ImportRow(1, username.strip(), email.strip(), full_name.strip())
    check_rows(course.course_id, [row])
    if not row.ok:
        about_email = row.email and not courses.EMAIL_PATTERN.match(row.email)
        raise BadRequest(row.errors[0], field="email" if about_email else "username")
    added = _add(course, row, actor, now)
    db.session.flush()
    return added


def _other_courses(user: User, course_id: str) -> int:
    return db.session.execute(
        select(func.count()).select_from(CourseMembership).where(
            CourseMembership.user_id == user.id, CourseMembership.course_id != course_id,
            CourseMembership.is_active.is_(True))
    ).scalar_one()


def learner_membership(course: Course, user_id: int) -> CourseMembership:
    membership = db.session.execute(
        select(CourseMembership).where(CourseMembership.course_id == course.course_id,
                                       CourseMembership.user_id == user_id)
    ).scalar_one_or_none()
    if membership is None or membership.role != CourseRole.LEARNER.value:
        raise NotFound(_("No learner %(id)s in this course.", id=user_id))
    return membership


def deactivates_account(membership: CourseMembership) -> bool:
    """Whether deactivating this enrollment deactivates the account too (it is in no other
    course)."""
    user = membership.user
    return not user.is_staff and _other_courses(user, membership.course_id) == 0


@dataclass(frozen=True)
class Deactivation:
    """What the confirmation page says deactivating a learner would do."""

    membership: CourseMembership
    account_too: bool

    @property
    def user(self) -> User:
        return self.membership.user


def deactivation(course: Course, user_id: int) -> Deactivation:
    """The learner to deactivate and whether their account goes too (nothing changes)."""
    require_editable(course)
    membership = learner_membership(course, user_id)
    if not membership.is_active:
        raise BadRequest(_("%(user)s is not enrolled any more: there is nothing to "
                           "deactivate.", user=membership.user.username))
    return Deactivation(membership, deactivates_account(membership))


def deactivate(course: Course, membership: CourseMembership, actor: User,
               now: datetime) -> bool:
    """End the learner's enrollment and every session they have (their open pages stop
    working at once). An account that belongs to no other course is deactivated too; returns
    whether it was."""
    require_editable(course)
    user = membership.user
    membership.is_active = False
    membership.modified = now
    account_too = deactivates_account(membership)
    if account_too:
        accounts.set_active(user, False, now)  # also ends the sessions
    else:
        accounts.end_sessions(user, f"enrollment in {course.course_id} ended")
    db.session.flush()
    log.info("roster of %s: %s deactivated%s by %s", course.course_id, user.username,
             " (account too)" if account_too else "", actor.username)
    return account_too


def reenroll(course: Course, membership: CourseMembership, actor: User, now: datetime) -> None:
    """Enroll a deactivated learner again (and their account, if it was this course's)."""
    require_editable(course)
    user = membership.user
    courses.enroll(user, course.course_id, now, role=CourseRole.LEARNER.value,
                   enrollment_mode=membership.enrollment_mode)
    if not user.is_active_account and not _other_courses(user, course.course_id):
        accounts.set_active(user, True, now)
    db.session.flush()
    log.info("roster of %s: %s enrolled again by %s", course.course_id, user.username,
             actor.username)


def resend_invitation(course: Course, membership: CourseMembership, actor: User,
                      now: datetime) -> EmailMessage:
    """Send a learner's invitation to choose a password again (a new link; earlier ones keep
    working until they expire or one is used)."""
    require_editable(course)
    message = password_links.resend_invitation(membership.user, actor, now,
                                               course_label(course))
    log.info("roster of %s: invitation of %s sent again by %s", course.course_id,
             membership.user.username, actor.username)
    return message


def counts(rows: Sequence[ImportRow]) -> tuple[int, int]:
    """(new accounts, existing accounts) an import would enroll."""
    new = sum(1 for r in rows if r.existing is None)
    return new, len(rows) - new
