"""Links that let a person choose a password: invitations to new accounts and "forgot your
password?" links.

A link carries a token signed with ``SECRET_KEY`` (itsdangerous) that names the account,
the kind of link and when it was made, plus a keyed digest of the account's password hash
and email address. Setting a password changes the hash, so a link works once; changing the
address (or the password some other way) retires every link sent before. No table holds
the links: nothing to migrate, nothing to clean up. An invitation lives
``INVITATION_VALID_DAYS``, a reset link ``PASSWORD_RESET_VALID_HOURS``, measured on the
app's clock.

The emails go through the outbox like every other email (``notifications.queue_email``), in
the recipient's language when we know it. There is no account history table: each change
writes one log line naming the account (and who asked), as the roster's changes do, and the
queued email row itself records who was sent what, when.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Select, func, or_, select

from proctor_web.errors import BadRequest, ProctorError
from proctor_web.extensions import db
from proctor_web.models import EmailMessage, User
from proctor_web.services import accounts, notifications
from proctor_web.services.courses import MIN_PASSWORD_LENGTH

log = logging.getLogger(__name__)

TOKEN_SALT = "proctor-set-password"
#: Where the page that takes a token lives (``auth.set_password``).
SET_PASSWORD_PATH = "/password/set/"
#: Longer passwords are refused (hashing megabytes on request is a cheap denial of service).
MAX_PASSWORD_LENGTH = 256
#: Accounts one "forgot your password?" request may mail (several can share an address).
MAX_ACCOUNTS_PER_RESET = 5


class LinkKind(enum.StrEnum):
    INVITATION = "invite"
    RESET = "reset"


class LinkProblem(enum.StrEnum):
    INVALID = "invalid"  # not one of our links (mistyped, cut short, tampered with)
    EXPIRED = "expired"
    USED = "used"  # used already, or the password or address changed since
    INACTIVE = "inactive"  # the account was deactivated


class LinkRefused(ProctorError):
    """A link that cannot set a password; ``problem`` says why (the page explains it)."""

    STATUSES = {LinkProblem.INVALID: 404, LinkProblem.EXPIRED: 410, LinkProblem.USED: 410,
                LinkProblem.INACTIVE: 403}

    def __init__(self, problem: LinkProblem, kind: LinkKind | None = None) -> None:
        super().__init__(str(problem))
        self.problem = problem
        self.kind = kind
        self.status = self.STATUSES[problem]


@dataclass(frozen=True)
class CheckedLink:
    user: User
    kind: LinkKind


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def _state_digest(user: User) -> str:
    """Changes whenever the account's password or email address changes."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    state = f"{user.id}\0{user.password_hash or ''}\0{(user.email or '').lower()}".encode()
    return hmac.new(key, state, hashlib.sha256).hexdigest()[:32]


def lifetime(kind: LinkKind) -> timedelta:
    if kind == LinkKind.INVITATION:
        return timedelta(days=int(current_app.config["INVITATION_VALID_DAYS"]))
    return timedelta(hours=int(current_app.config["PASSWORD_RESET_VALID_HOURS"]))


def make_token(user: User, kind: LinkKind, now: datetime) -> str:
    return str(_serializer().dumps({"u": user.id, "k": kind.value, "t": int(now.timestamp()),
                                    "s": _state_digest(user)}))


def link_url(token: str) -> str:
    """The absolute address of the page a token opens (works outside a request too, as the
    status emails' links do)."""
    return f"{current_app.config['SITE_URL'].rstrip('/')}{SET_PASSWORD_PATH}{token}"


def check_token(token: str, now: datetime) -> CheckedLink:
    """The account and kind of link a token opens, or LinkRefused saying why not."""
    try:
        data = _serializer().loads(token)
        user_id, kind = int(data["u"]), LinkKind(data["k"])
        issued, digest = int(data["t"]), str(data["s"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise LinkRefused(LinkProblem.INVALID) from None
    user = db.session.get(User, user_id)
    if user is None:
        raise LinkRefused(LinkProblem.INVALID, kind)
    if not hmac.compare_digest(digest, _state_digest(user)):
        raise LinkRefused(LinkProblem.USED, kind)
    if now.timestamp() - issued > lifetime(kind).total_seconds():
        raise LinkRefused(LinkProblem.EXPIRED, kind)
    if not user.is_active_account:
        raise LinkRefused(LinkProblem.INACTIVE, kind)
    return CheckedLink(user, kind)


def check_new_password(user: User, password: str, confirmation: str) -> None:
    """Refuse a password in plain words, naming the field it is about."""
    if not password:
        raise BadRequest(_("Enter a password."), field="password")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequest(_("Your password is too short: use at least %(minimum)d characters.",
                           minimum=MIN_PASSWORD_LENGTH), field="password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise BadRequest(_("Your password is too long: use at most %(maximum)d characters.",
                           maximum=MAX_PASSWORD_LENGTH), field="password")
    if password.strip().lower() in {user.username.lower(), (user.email or "").lower()}:
        raise BadRequest(_("Your password must not be your username or your email address."),
                         field="password")
    if confirmation != password:
        raise BadRequest(_("The two passwords are not the same: type the same password in "
                           "both fields."), field="confirmation")


def set_password_from_link(token: str, password: str, confirmation: str,
                           now: datetime) -> CheckedLink:
    """Set the password a link allows (which retires the link and ends every session of
    the account); the caller commits and signs the person in."""
    link = check_token(token, now)
    check_new_password(link.user, password, confirmation)
    accounts.change_password(link.user, password, now)
    db.session.flush()
    log.info("password of user %s set from %s link", link.user.username,
             "an invitation" if link.kind == LinkKind.INVITATION else "a reset")
    return link


def can_be_invited(user: User) -> bool:
    """An active account with an email address and no password yet."""
    return bool(user.email) and not user.password_hash and user.is_active_account


def send_invitation(user: User, actor: User, now: datetime,
                    course_name: str = "") -> EmailMessage | None:
    """Queue an invitation to choose a password; None when the account cannot have one
    (it has a password already, no email address, or is inactive)."""
    if not can_be_invited(user):
        return None
    token = make_token(user, LinkKind.INVITATION, now)
    context = {
        "user_name": user.full_name or user.username,
        "username": user.username,
        "inviter": actor.full_name or actor.username,
        "course_name": course_name,
        "link": link_url(token),
        "valid_days": int(current_app.config["INVITATION_VALID_DAYS"]),
    }
    message = notifications.queue_email("account_invitation", user.email, context, now,
                                        user_id=user.id, locale=user.locale)
    log.info("invitation to user %s queued by %s", user.username, actor.username)
    return message


def resend_invitation(user: User, actor: User, now: datetime,
                      course_name: str = "") -> EmailMessage:
    """Send the invitation again (BadRequest, in plain words, when there is none to send)."""
    if not user.email:
        raise BadRequest(_("%(user)s has no email address: there is nowhere to send an "
                           "invitation.", user=user.username))
    if user.password_hash:
        raise BadRequest(_("%(user)s has already chosen a password: they can use “Forgot "
                           "your password?” on the sign-in page.", user=user.username))
    message = send_invitation(user, actor, now, course_name)
    if message is None:
        raise BadRequest(_("%(user)s's account is deactivated: enroll them again first.",
                           user=user.username))
    return message


def _accounts_for(identifier: str) -> list[User]:
    identifier = identifier.strip()
    if not identifier or len(identifier) > 254:
        return []
    return list(db.session.execute(accounts_query(identifier)).scalars())


def accounts_query(identifier: str) -> Select:
    """The accounts with this username, or this address whatever its case (on the
    ``lower(email)`` index, migration 0014)."""
    return select(User).where(
        or_(User.username == identifier, func.lower(User.email) == identifier.lower())
    ).order_by(User.id).limit(MAX_ACCOUNTS_PER_RESET)


def request_reset(identifier: str, now: datetime) -> int:
    """Mail a reset link to each active account with this username or email address.

    The caller answers the same whatever this finds, so the page does not tell who has an
    account; the count is for logs and tests only."""
    sent = 0
    for user in _accounts_for(identifier):
        if not user.email or not user.is_active_account:
            continue
        token = make_token(user, LinkKind.RESET, now)
        context = {
            "user_name": user.full_name or user.username,
            "username": user.username,
            "link": link_url(token),
            "valid_hours": int(current_app.config["PASSWORD_RESET_VALID_HOURS"]),
        }
        notifications.queue_email("password_reset", user.email, context, now,
                                  user_id=user.id, locale=user.locale)
        log.info("password reset link for user %s queued", user.username)
        sent += 1
    return sent
