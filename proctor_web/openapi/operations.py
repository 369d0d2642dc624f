"""What each JSON endpoint does, by Flask endpoint name and HTTP method.

The paths and path parameters come from ``app.url_map`` (see ``document.py``); only what
the routes cannot say lives here: summary, who may call, query parameters, bodies. A route
added without an entry here, or an entry whose methods differ from the route's, fails
``tests/openapi/test_document.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Who may call: ``learner`` / ``staff`` (the session cookie of a signed-in user; staff =
#: course or global staff), ``provider`` (a Bearer token from ``/oauth2/access_token``),
#: ``rpnow`` (an SSI signature or the shared callback secret), ``client`` (client id and
#: secret), ``anyone``.
AUTH_KINDS = ("learner", "staff", "provider", "rpnow", "client", "anyone")


@dataclass(frozen=True)
class Query:
    name: str
    description: str
    schema: dict = field(default_factory=lambda: {"type": "string"})
    required: bool = False


@dataclass(frozen=True)
class Operation:
    summary: str
    tag: str
    auth: str
    #: status -> component schema name; ``None`` for an empty body, ``"redirect"`` for a 302.
    responses: dict[int, str | None]
    query: tuple[Query, ...] = ()
    body: str | None = None
    #: Content types the body may come in (edx-proctoring clients send JSON or form fields).
    body_types: tuple[str, ...] = ("application/json",)
    description: str = ""


LEARNER, INSTRUCTOR, PROVIDER, OPS = "learner", "instructor", "provider", "operations"
FORM = ("application/json", "application/x-www-form-urlencoded")
COURSE_ID = Query("course_id", "The course, e.g. course-v1:DemoX+PROC101+2026.")
USER_ID = Query("user_id", "Another learner (course staff only).",
                {"type": "string", "pattern": "^[0-9]+$"})
PAGE = Query("page", "Page number, from 1.", {"type": "string", "pattern": "^[0-9]+$"})

#: endpoint -> {method: operation}
OPERATIONS: dict[str, dict[str, Operation]] = {
    # Learner ------------------------------------------------------------------------------
    "api.create_attempt": {"post": Operation(
        "Create (or resume) the learner's attempt at an exam", LEARNER, "learner",
        {200: "AttemptCreated"}, body="AttemptCreate", body_types=FORM)},
    "api.timer_payload": {"get": Operation(
        "The running attempt's timer, or just the server clock", LEARNER, "learner",
        {200: "TimerPayload"})},
    "api.get_attempt": {"get": Operation(
        "Poll an attempt: status and timer (applies expiry and provider readiness first)",
        LEARNER, "learner", {200: "TimerPayload"})},
    "api.update_attempt": {method: Operation(
        "Act on an attempt: start, stop, submit, error, decline, reset ...", LEARNER,
        "learner", {200: "AttemptChanged"}, body="AttemptUpdate", body_types=FORM)
        for method in ("put", "patch")},
    "api.acknowledge_review_status": {"put": Operation(
        "Acknowledge the review outcome (with EXAM_VIEWABLE_PAST_DUE)", LEARNER, "learner",
        {200: "AttemptCreated"})},
    "api.exam_and_attempt": {"get": Operation(
        "An exam of a course with the learner's attempt", LEARNER, "learner",
        {200: "ExamAndAttempt"},
        query=(Query("content_id", "The exam's content id."), USER_ID))},
    "api.active_attempt": {"get": Operation(
        "The learner's running attempt, or the clock", LEARNER, "learner",
        {200: "TimerPayload"}, query=(USER_ID,))},
    "api.proctoring_settings": {"get": Operation(
        "Provider settings of an exam (instructions, support contacts)", LEARNER, "learner",
        {200: "ProctoringSettings"})},
    "api.review_policy": {"get": Operation(
        "The exam's review policy", LEARNER, "learner", {200: "ReviewPolicy"})},
    "api.active_exams_for_user": {"get": Operation(
        "The learner's active exams in a course, with attempts and allowances", LEARNER,
        "learner", {200: "ActiveExamList"},
        query=(Query("course_id", "The course.", required=True), USER_ID))},
    "api.onboarding_status": {"get": Operation(
        "The learner's onboarding status for a course", LEARNER, "learner",
        {200: "OnboardingStatus"},
        query=(Query("course_id", "The course.", required=True),
               Query("username", "Another learner (course staff only).")))},
    "learner.csrf_token": {"get": Operation(
        "A CSRF token to send back as X-CSRFToken on POST/PUT/PATCH/DELETE", LEARNER,
        "anyone", {200: "CsrfToken"})},
    # Instructor ---------------------------------------------------------------------------
    "api.exam_create": {"post": Operation(
        "Create an exam", INSTRUCTOR, "staff", {200: "ExamId"}, body="ExamWrite",
        body_types=FORM)},
    "api.exam_update": {"put": Operation(
        "Change an exam", INSTRUCTOR, "staff", {200: "ExamId"}, body="ExamWrite",
        body_types=FORM)},
    "api.exam_get": {"get": Operation("An exam by id", INSTRUCTOR, "learner", {200: "Exam"})},
    "api.exam_get_by_content": {"get": Operation(
        "An exam by course and content id", INSTRUCTOR, "learner", {200: "Exam"})},
    "api.exam_list": {"get": Operation(
        "The course's active exams", INSTRUCTOR, "learner", {200: "ExamList"})},
    "api.exam_registration": {"patch": Operation(
        "Register the course's exams (upsert by content id; unlisted ones are deactivated)",
        INSTRUCTOR, "staff", {200: "ExamIdList"}, body="ExamRegistration")},
    "api.attempts_grouped": {"get": Operation(
        "Latest attempt per learner and exam, 25 per page", INSTRUCTOR, "staff",
        {200: "GroupedAttempts"}, query=(PAGE,))},
    "api.attempts_grouped_search": {"get": Operation(
        "The same, searching usernames and emails", INSTRUCTOR, "staff",
        {200: "GroupedAttempts"}, query=(PAGE,))},
    "api.attempt_delete": {"delete": Operation(
        "Remove an attempt (its history stays)", INSTRUCTOR, "staff", {200: "Empty"})},
    "api.reset_attempts": {"delete": Operation(
        "Remove all of a user's attempts at an exam", INSTRUCTOR, "staff", {200: "Empty"})},
    "api.allowance_list": {"get": Operation(
        "The course's allowances", INSTRUCTOR, "staff", {200: "AllowanceList"})},
    "api.allowance_grouped": {"get": Operation(
        "The course's allowances by username", INSTRUCTOR, "staff", {200: "AllowancesByUser"})},
    "api.allowance_set": {"put": Operation(
        "Grant or change an allowance", INSTRUCTOR, "staff", {200: "Null"},
        body="AllowanceSet", body_types=FORM)},
    "api.allowance_delete": {"delete": Operation(
        "Remove an allowance", INSTRUCTOR, "staff", {200: "Null"}, body="AllowanceDelete",
        body_types=FORM)},
    "api.bulk_allowance": {"put": Operation(
        "Grant one allowance to many learners on many exams", INSTRUCTOR, "staff",
        {200: "BulkAllowanceResult", 207: "BulkAllowanceResult"}, body="BulkAllowance",
        body_types=FORM)},
    "api.bulk_allowance_course": {"put": Operation(
        "The same, for the course in the path", INSTRUCTOR, "staff",
        {200: "BulkAllowanceResult", 207: "BulkAllowanceResult"}, body="BulkAllowance",
        body_types=FORM)},
    "api.onboarding_course": {"get": Operation(
        "Every enrolled learner's onboarding status", INSTRUCTOR, "staff",
        {200: "OnboardingPage"},
        query=(PAGE, Query("text_search", "Part of a username or email."),
               Query("statuses", "Comma-separated onboarding statuses.")))},
    "api.instructor_dashboard": {"get": Operation(
        "Redirect to the provider's dashboard", INSTRUCTOR, "staff", {302: "redirect"},
        query=(Query("attempt", "An attempt's provider id."),
               Query("config", "true: the configuration page.")))},
    "api.retire_backend_user": {"post": Operation(
        "Ask every provider the user met to forget them (global staff)", INSTRUCTOR, "staff",
        {200: "RetireBackendUser"})},
    "api.retire_user": {"post": Operation(
        "Blank the user's personal data in proctoring records (global staff)", INSTRUCTOR,
        "staff", {204: None})},
    # Providers ----------------------------------------------------------------------------
    "webhooks.access_token": {"post": Operation(
        "OAuth2 client-credentials token for a provider's service account", PROVIDER,
        "client", {200: "Token"}, body="TokenRequest",
        body_types=("application/x-www-form-urlencoded",))},
    "webhooks.attempt_ready": {"post": Operation(
        "The provider reports the learner ready to start", PROVIDER, "provider",
        {200: "CallbackAccepted"}, body="ReviewCallback")},
    "webhooks.attempt_reviewed": {"post": Operation(
        "The provider sends its review of an attempt", PROVIDER, "provider",
        {200: "CallbackAccepted"}, body="ReviewCallback")},
    "webhooks.rpnow_review_callback": {"post": Operation(
        "RPNow's review (SSI-signed, or with X-Proctor-Callback-Secret)", PROVIDER, "rpnow",
        {200: "CallbackAccepted"}, body="ReviewCallback")},
    "webhooks.rpnow_launch": {method: Operation(
        "Opened by the RPNow app: marks the attempt ready (or submits it) and redirects",
        PROVIDER, "anyone", {302: "redirect"})
        for method in ("get", "post", "put", "patch", "delete")},
    # Operations ---------------------------------------------------------------------------
    "ops.healthz": {"get": Operation("Liveness: the process answers", OPS, "anyone",
                                     {200: "Health"})},
    "ops.readyz": {"get": Operation(
        "Readiness: database reachable, schema at head, broker reachable", OPS, "anyone",
        {200: "Ready", 503: "Ready"})},
    "openapi.document": {"get": Operation("This document", OPS, "anyone",
                                          {200: "OpenAPIDocument"})},
}
