"""``flask --app proctor_web proctor ...``: operator commands.

Each command calls services and commits once; a domain error becomes a clear message and a
non-zero exit, and nothing is half-written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

import click
from flask import current_app
from flask.cli import AppGroup

from proctor_web.backends.lti import LtiBackend
from proctor_web.errors import ProctorError
from proctor_web.extensions import db
from proctor_web.models import utcnow
from proctor_web.ops.build_worker import build_worker_command
from proctor_web.ops.cli import check_command, database_must_answer
from proctor_web.services import accounts, attempts, courses, exams
from proctor_web.services.attempts import Actor
from proctor_web.tasks.cli import outbox_command, worker_command

proctor_cli = AppGroup("proctor", help="Manage proctor_web: demo data, users, exams, attempts.",
                      callback=database_must_answer)
proctor_cli.add_command(build_worker_command)
proctor_cli.add_command(check_command)
proctor_cli.add_command(outbox_command)
proctor_cli.add_command(worker_command)

F = TypeVar("F", bound=Callable[..., Any])


def transactional(func: F) -> F:
    """Commit once when the command succeeds; roll back and exit 1 with the reason if not."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = func(*args, **kwargs)
            db.session.commit()
            return result
        except ProctorError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from None
        except Exception:
            db.session.rollback()
            raise

    return wrapper  # type: ignore[return-value]


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    email: str
    full_name: str
    is_staff: bool = False
    course_role: str = "learner"


DEMO_COURSE_ID = "course-v1:DemoX+PROC101+2026"
DEMO_ACCOUNTS = (
    DemoAccount("staff", "staff-demo-pass", "staff@example.com", "Sam Staff", True, "staff"),
    DemoAccount("instructor", "instructor-demo-pass", "instructor@example.com",
                "Ines Instructor", False, "staff"),
    DemoAccount("alice", "alice-demo-pass", "alice@example.com", "Alice Learner"),
    DemoAccount("bob", "bob-demo-pass", "bob@example.com", "Bob Learner"),
)
DEMO_EXAMS = (
    {"content_id": "timed-exam", "exam_name": "Timed Midterm", "time_limit_mins": 30,
     "is_proctored": False, "is_practice_exam": False},
    {"content_id": "proctored-exam", "exam_name": "Proctored Final Exam", "time_limit_mins": 60,
     "is_proctored": True, "is_practice_exam": False, "backend": "mock"},
    {"content_id": "practice-exam", "exam_name": "Practice Exam", "time_limit_mins": 20,
     "is_proctored": False, "is_practice_exam": True, "backend": "mock"},
    {"content_id": "onboarding-exam", "exam_name": "Proctoring Onboarding", "time_limit_mins": 15,
     "is_proctored": True, "is_practice_exam": True, "backend": "mock"},
)
DEMO_CONTENT_URL = "/static/sample-exam/index.html"


def _demo_lti_exams(now: datetime) -> list[str]:
    """One proctored exam per configured LTI proctoring tool, to try the LTI flow."""
    created: list[str] = []
    for backend in current_app.extensions["proctor_backends"].all():
        content_id = f"lti-{backend.name}"
        if isinstance(backend, LtiBackend) and exams.find_exam(DEMO_COURSE_ID,
                                                               content_id) is None:
            name = f"Final ({backend.display_name}, over LTI)"
            exams.create_exam(DEMO_COURSE_ID, content_id, {
                "exam_name": name, "time_limit_mins": 30, "is_proctored": True,
                "backend": backend.name, "content_url": DEMO_CONTENT_URL}, None, now)
            created.append(f"exam {name}")
    return created


@proctor_cli.command("demo")
@transactional
def demo() -> None:
    """Load the demo course, accounts and one exam of each type (safe to run again)."""
    if "mock" not in current_app.extensions["proctor_backends"].names:
        raise ProctorError(
            "The demo exams use the 'mock' backend: add it to PROCTOR_BACKENDS, e.g. "
            '\'{"DEFAULT": "mock", "mock": {}, "null": {}}\'.'
        )
    now = utcnow()
    created: list[str] = []
    course = courses.ensure_course(DEMO_COURSE_ID, now, "Demo Course: Proctoring 101")
    if not course.proctoring_escalation_email:
        course.proctoring_escalation_email = "exams@demo.example"
        course.allow_proctoring_opt_out = True
    for account in DEMO_ACCOUNTS:
        user = courses.find_user(account.username)
        if user is None:
            user = courses.create_user(account.username, account.password, now,
                                       email=account.email, full_name=account.full_name,
                                       is_staff=account.is_staff)
            created.append(f"user {account.username}")
        if courses.membership_of(user, DEMO_COURSE_ID) is None:
            courses.enroll(user, DEMO_COURSE_ID, now, role=account.course_role)
            created.append(f"{account.username} enrolled as {account.course_role}")
    for spec in DEMO_EXAMS:
        if exams.find_exam(DEMO_COURSE_ID, spec["content_id"]) is None:
            fields = {k: v for k, v in spec.items() if k != "content_id"}
            if not (spec["is_proctored"] and spec["is_practice_exam"]):
                # The onboarding exam is an identity check: no quiz questions in it.
                fields["content_url"] = DEMO_CONTENT_URL
            exam = exams.create_exam(DEMO_COURSE_ID, spec["content_id"], fields, None, now)
            if exam.is_proctored and not exam.is_practice_exam:
                exams.set_review_policy(
                    exam, "Closed book. One sheet of blank scratch paper is allowed.", None, now
                )
            created.append(f"exam {spec['exam_name']}")
    created.extend(_demo_lti_exams(now))
    created.extend(_demo_lti_platform(now))
    summary = "; ".join(created) if created else "already loaded, nothing changed"
    click.echo(f"Demo data: {summary}")
    click.echo(f"Course: {DEMO_COURSE_ID}")
    for account in DEMO_ACCOUNTS:
        role = "global staff" if account.is_staff else f"course {account.course_role}"
        click.echo(f"  login {account.username:<11} password {account.password:<21} ({role})")


#: The demo LMS: ``python -m proctor_web.testing.lti_platform --tool-url <our site>``.
DEMO_LTI_PLATFORM = "http://127.0.0.1:11137"


def _demo_lti_platform(now: Any) -> list[str]:
    from proctor_web.lti.tool import registration

    if registration.find_platform(DEMO_LTI_PLATFORM, "proctor-web-demo") is not None:
        return []
    registration.add_platform(registration.PlatformFields(
        issuer=DEMO_LTI_PLATFORM, client_id="proctor-web-demo",
        auth_login_url=f"{DEMO_LTI_PLATFORM}/auth", auth_token_url=f"{DEMO_LTI_PLATFORM}/token",
        key_set_url=f"{DEMO_LTI_PLATFORM}/jwks.json", deployment_ids=("demo-deployment",),
        name="Demo LMS (LTI test platform)"), now)
    return [f"LTI platform {DEMO_LTI_PLATFORM}"]


@proctor_cli.command("create-user")
@click.argument("username")
@click.option("--password", required=True, help="At least 8 characters.")
@click.option("--email", default="")
@click.option("--full-name", default="")
@click.option("--staff", is_flag=True, help="Global staff: may manage every course.")
@transactional
def create_user(username: str, password: str, email: str, full_name: str, staff: bool) -> None:
    """Create a local account."""
    user = courses.create_user(username, password, utcnow(), email=email, full_name=full_name,
                               is_staff=staff)
    click.echo(f"Created user {user.username} (id {user.id}{', global staff' if staff else ''}).")


@proctor_cli.command("set-password")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="At least 8 characters (prompted for when left out).")
@transactional
def set_password(username: str, password: str) -> None:
    """Change USERNAME's password; every session of theirs ends."""
    user = courses.get_user(username)
    accounts.change_password(user, password, utcnow())
    click.echo(f"Password of {user.username} changed; their sessions have ended.")


@proctor_cli.command("deactivate-user")
@click.argument("username")
@transactional
def deactivate_user(username: str) -> None:
    """Stop USERNAME from signing in; every session of theirs ends."""
    user = courses.get_user(username)
    accounts.set_active(user, False, utcnow())
    click.echo(f"{user.username} is deactivated; their sessions have ended.")


@proctor_cli.command("activate-user")
@click.argument("username")
@transactional
def activate_user(username: str) -> None:
    """Let USERNAME sign in again."""
    user = courses.get_user(username)
    accounts.set_active(user, True, utcnow())
    click.echo(f"{user.username} is active.")


@proctor_cli.command("enroll")
@click.argument("username")
@click.argument("course_id")
@click.option("--role", type=click.Choice(["learner", "staff"]), default="learner")
@click.option("--mode", "enrollment_mode", default="verified", help="Enrollment mode.")
@transactional
def enroll(username: str, course_id: str, role: str, enrollment_mode: str) -> None:
    """Enroll USERNAME in COURSE_ID (or change their role there)."""
    user = courses.get_user(username)
    courses.enroll(user, course_id, utcnow(), role=role, enrollment_mode=enrollment_mode)
    click.echo(f"{user.username} is {role} in {course_id}.")


@proctor_cli.command("create-exam")
@click.option("--course-id", required=True)
@click.option("--content-id", required=True)
@click.option("--exam-name", required=True)
@click.option("--time-limit-mins", required=True, type=int)
@click.option("--due-date", default=None, help="ISO-8601, e.g. 2026-12-01T17:00:00Z.")
@click.option("--is-proctored", is_flag=True)
@click.option("--is-practice-exam", is_flag=True)
@click.option("--backend", default=None, help="A name from PROCTOR_BACKENDS.")
@click.option("--hide-after-due", is_flag=True)
@click.option("--inactive", is_flag=True)
@click.option("--content-url", default=None, help="Page shown while the exam runs.")
@transactional
def create_exam(course_id: str, content_id: str, exam_name: str, time_limit_mins: int,
                due_date: str | None, is_proctored: bool, is_practice_exam: bool,
                backend: str | None, hide_after_due: bool, inactive: bool,
                content_url: str | None) -> None:
    """Create an exam."""
    fields: dict[str, Any] = {
        "exam_name": exam_name,
        "time_limit_mins": time_limit_mins,
        "due_date": due_date,
        "is_proctored": is_proctored,
        "is_practice_exam": is_practice_exam,
        "hide_after_due": hide_after_due,
        "is_active": not inactive,
    }
    if backend:
        fields["backend"] = backend
    if content_url:
        fields["content_url"] = content_url
    exam = exams.create_exam(course_id, content_id, fields, None, utcnow())
    click.echo(f"Created exam {exam.id} '{exam.exam_name}' ({exams.exam_type(exam).value}, "
               f"{exam.time_limit_mins} min) in {course_id}.")


@proctor_cli.command("set-attempt-status")
@click.option("-a", "--attempt-id", required=True, type=int)
@click.option("-t", "--status", "to_status", required=True)
@click.option("--reason", default="set from the command line")
@transactional
def set_attempt_status(attempt_id: int, to_status: str, reason: str) -> None:
    """Force an attempt's status (completed attempts never go back to incomplete)."""
    attempt = attempts.get_attempt(attempt_id)
    before = attempt.status
    attempt = attempts.set_attempt_status(attempt, to_status, Actor.system("cli"), utcnow(),
                                          reason)
    click.echo(f"Attempt {attempt.id}: {before} -> {attempt.status}.")


@proctor_cli.command("recount")
@transactional
def recount() -> None:
    """Recompute each exam's count of learners with attempts (after a bulk import)."""
    attempts.recount_learners()
    click.echo("Recounted the learners with attempts of every exam.")


#: How the sweep's report names each outbox kind.
OUTBOX_LABELS = {"lti_score": "LMS score(s)"}


@proctor_cli.command("sweep")
@transactional
def sweep() -> None:
    """Submit attempts whose time ran out; retry provider events, exam pushes, emails and LMS
    scores; sync LMS rosters that are due.

    Celery beat runs the same every minute (README: Background work); this is for cron.
    """
    from proctor_web.tasks.jobs import run_sweep

    report = run_sweep(utcnow())
    expired = report.expired
    click.echo(f"Submitted {len(expired)} attempt(s) whose time had run out"
               + (f": {', '.join(map(str, expired))}." if expired else "."))
    click.echo(f"Pushed {report.pushed} exam(s) to their provider; "
               f"{report.push_failures} still failing.")
    click.echo(f"Delivered {report.delivered.pop('provider', 0)} provider event(s).")
    click.echo(f"Sent {report.delivered.pop('email', 0)} email(s).")
    for kind, count in report.delivered.items():
        click.echo(f"Delivered {count} {OUTBOX_LABELS.get(kind, kind + ' outbox row(s)')}.")
    for line in report.rosters:
        click.echo(line)


@proctor_cli.command("create-oauth-client")
@click.argument("name")
@click.option("--backend", required=True, help="The one backend this client may act for.")
@click.option("--client-id", default=None, help="Default: a random id.")
@click.option("--client-secret", default=None,
              help="Default: a random secret (recommended); it is shown only once.")
@transactional
def create_oauth_client(name: str, backend: str, client_id: str | None,
                        client_secret: str | None) -> None:
    """Create a provider service account for the ready/reviewed callbacks."""
    from proctor_web.services import oauth

    created = oauth.create_client(name, backend, utcnow(), client_id=client_id,
                                  client_secret=client_secret)
    click.echo(f"Created OAuth client {name!r} for backend {backend!r}.")
    click.echo(f"client_id:     {created.client.client_id}")
    click.echo(f"client_secret: {created.secret}")
    click.echo("Store the secret now: it is kept only as a hash and cannot be shown again.")


@proctor_cli.command("lti-rotate-key")
@transactional
def lti_rotate_key() -> None:
    """Sign LTI messages with a new key; the old ones stay in /lti/jwks.json for a while."""
    from proctor_web.lti import keys

    key = keys.rotate_keys(utcnow())
    click.echo(f"LTI messages are now signed with key {key.kid}; the previous keys stay "
               f"published for {keys.KEY_GRACE.days} days.")


@proctor_cli.command("obscured-id-map")
@click.argument("backend")
def obscured_id_map(backend: str) -> None:
    """CSV of user_id, previous_id, edx_id for every learner who met BACKEND.

    proctor_web now sends providers edx-proctoring's obscured user ids; a provider that
    already holds records under the ids sent before can re-key them with this map.
    """
    from proctor_web.services.obscured_ids import (
        obscured_user_id,
        previous_obscured_user_id,
        users_who_met,
    )

    click.echo("user_id,previous_id,edx_id")
    for user_id in users_who_met(backend):
        click.echo(f"{user_id},{previous_obscured_user_id(user_id, backend)},"
                   f"{obscured_user_id(user_id, backend)}")


@proctor_cli.command("lti-add-platform")
@click.option("--issuer", required=True, help="The platform's issuer (iss).")
@click.option("--client-id", required=True, help="The client id the platform gave us.")
@click.option("--deployment-id", "deployment_ids", required=True, multiple=True,
              help="A deployment id (repeat for several).")
@click.option("--auth-login-url", required=True, help="The platform's OIDC auth endpoint.")
@click.option("--auth-token-url", required=True, help="The platform's OAuth2 token endpoint.")
@click.option("--key-set-url", required=True, help="The platform's public key set (JWKS).")
@click.option("--name", default="", help="A name for people (default: the issuer's host).")
@transactional
def lti_add_platform(issuer: str, client_id: str, deployment_ids: tuple[str, ...],
                     auth_login_url: str, auth_token_url: str, key_set_url: str,
                     name: str) -> None:
    """Register an LMS that launches proctor_web over LTI 1.3; print what to paste there."""
    from proctor_web.lti.tool import registration

    platform = registration.add_platform(registration.PlatformFields(
        issuer=issuer, client_id=client_id, auth_login_url=auth_login_url,
        auth_token_url=auth_token_url, key_set_url=key_set_url,
        deployment_ids=deployment_ids, name=name), utcnow())
    click.echo(f"Registered {platform.name} ({platform.issuer}, client id {platform.client_id},"
               f" deployments {', '.join(d.deployment_id for d in platform.deployments)}).")
    click.echo("Enter these in the LMS's tool configuration:")
    urls = registration.tool_urls(current_app.config["SITE_URL"])
    for label, key in (("OIDC login initiation URL", "login_initiation_url"),
                       ("Redirect URI / launch URL", "redirect_url"),
                       ("Deep linking URL", "deep_linking_url"),
                       ("Public key set (JWKS) URL", "key_set_url")):
        click.echo(f"  {label:<28} {urls[key]}")
    click.echo("  Custom parameter of a link  content_id=<the exam's content id>")
