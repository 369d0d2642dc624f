"""JSON Schemas (OpenAPI 3.1 is JSON Schema 2020-12) of the API's bodies, as components.

Objects list the fields clients rely on with their types; they allow more fields, because
the edx-proctoring payloads carry many optional ones and new fields must not break clients.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: tuple[str, ...] = (), **properties: Schema) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
NUMBER: Schema = {"type": "number"}
TIMESTAMP: Schema = {"type": "string", "description": "ISO 8601, UTC"}
#: edx-proctoring clients send booleans as JSON booleans or as the strings "true"/"false".
LOOSE_BOOLEAN: Schema = {"anyOf": [BOOLEAN, {"type": "string", "enum": ["true", "false",
                                                                          "True", "False"]}]}
LOOSE_INTEGER: Schema = {"anyOf": [INTEGER, {"type": "string", "pattern": "^[0-9]+$"}]}

COMPONENTS: dict[str, Schema] = {
    "Error": {
        "type": "object",
        "description": "Every refusal: a sentence for people, and the field at fault if any.",
        "required": ["detail"],
        "properties": {"detail": STRING, "field": STRING},
    },
    "Clock": obj(("server_time",), server_time=TIMESTAMP, timer_ends=nullable(TIMESTAMP)),
    "User": obj(("id", "username"), id=INTEGER, username=STRING, email=nullable(STRING)),
    "Exam": obj(
        ("id", "course_id", "content_id", "exam_name", "time_limit_mins", "is_proctored",
         "is_practice_exam", "is_active"),
        id=INTEGER, course_id=STRING, content_id=STRING, external_id=nullable(STRING),
        exam_name=STRING, time_limit_mins=INTEGER, is_proctored=BOOLEAN,
        is_practice_exam=BOOLEAN, is_active=BOOLEAN, due_date=nullable(TIMESTAMP),
        hide_after_due=BOOLEAN, backend=nullable(STRING),
    ),
    "Attempt": obj(
        ("id", "status", "attempt_code", "user", "proctored_exam"),
        id=INTEGER, created=nullable(TIMESTAMP), modified=nullable(TIMESTAMP),
        user=ref("User"), started_at=nullable(TIMESTAMP), completed_at=nullable(TIMESTAMP),
        external_id=nullable(STRING), status=STRING, proctored_exam=ref("Exam"),
        allowed_time_limit_mins=nullable(INTEGER), attempt_code=STRING,
        is_sample_attempt=BOOLEAN, taking_as_proctored=BOOLEAN,
        review_policy_id=nullable(INTEGER), is_status_acknowledged=BOOLEAN,
        time_remaining_seconds=nullable(NUMBER), is_resumable=BOOLEAN,
        ready_to_resume=BOOLEAN, resumed=BOOLEAN,
    ),
    "TimerPayload": {
        "description": "The clock alone, or the running attempt with its timer fields.",
        "allOf": [ref("Clock"), obj(
            attempt_id=INTEGER, attempt_status=STRING, course_id=STRING, exam_type=STRING,
            exam_display_name=STRING, exam_url_path=STRING,
            time_remaining_seconds=NUMBER, total_time=STRING, in_timed_exam=BOOLEAN,
            low_threshold_sec=NUMBER, critically_low_threshold_sec=NUMBER,
        )],
    },
    "AttemptCreated": {"allOf": [ref("Clock"), obj(("exam_attempt_id",),
                                                   exam_attempt_id=INTEGER)]},
    "AttemptChanged": {
        "allOf": [ref("Clock"), obj(("exam_attempt_id",), exam_attempt_id={
            "anyOf": [INTEGER, {"const": False}],
            "description": "false when nothing changed (an error at the submit page)"})]},
    "AttemptUpdate": obj(
        ("action",),
        action={"type": "string", "enum": [
            "start", "stop", "submit", "click_download_software", "reset_attempt",
            "decline", "error", "mark_ready_to_resume", "ping"]},
        detail=STRING, user_id=LOOSE_INTEGER,
    ),
    "AttemptCreate": obj(("exam_id",), exam_id=LOOSE_INTEGER, start_clock=LOOSE_BOOLEAN,
                         attempt_proctored=LOOSE_BOOLEAN),
    "ExamAndAttempt": {"allOf": [ref("Clock"), obj(
        ("exam",), exam={"type": "object"}, active_attempt={"type": ["object", "null"]})]},
    "ProctoringSettings": obj(
        ("platform_name", "exam_proctoring_backend"), platform_name=STRING,
        contact_us=nullable(STRING), exam_proctoring_backend={"type": "object"},
        provider_name=nullable(STRING)),
    "ReviewPolicy": {"allOf": [ref("Clock"), obj(("review_policy",),
                                                 review_policy=nullable(STRING))]},
    "ActiveExam": obj(("exam", "attempt"), exam=ref("Exam"),
                      attempt={"type": ["object", "null"]}, allowances={"type": "array"}),
    "OnboardingStatus": obj(
        ("onboarding_status",), onboarding_status=nullable(STRING),
        onboarding_link=nullable(STRING), expiration_date=nullable(TIMESTAMP),
        onboarding_past_due=BOOLEAN, onboarding_release_date=nullable(TIMESTAMP),
        review_requirements_url=nullable(STRING)),
    "CsrfToken": obj(("csrfToken",), csrfToken=STRING),
    "ExamWrite": obj(
        course_id=STRING, content_id=STRING, exam_name=STRING, exam_id=LOOSE_INTEGER,
        time_limit_mins=LOOSE_INTEGER, is_proctored=LOOSE_BOOLEAN,
        is_practice_exam=LOOSE_BOOLEAN, is_active=LOOSE_BOOLEAN,
        hide_after_due=LOOSE_BOOLEAN, due_date=nullable(STRING), backend=STRING,
        external_id=STRING, content_url=STRING),
    "ExamId": obj(("exam_id",), exam_id=INTEGER),
    "GroupedAttempts": obj(
        ("proctored_exam_attempts", "pagination_info"),
        proctored_exam_attempts=array({"allOf": [ref("Attempt"), obj(
            exam_type=STRING, all_attempts=array(ref("Attempt")))]}),
        pagination_info=obj(("has_previous", "has_next", "current_page", "total_pages",
                             "count"),
                            has_previous=BOOLEAN, has_next=BOOLEAN, current_page=INTEGER,
                            total_pages=INTEGER, count=INTEGER),
        attempt_url=STRING),
    "Allowance": obj(("id", "user", "key", "value"), id=INTEGER, created=nullable(TIMESTAMP),
                     modified=nullable(TIMESTAMP), user=ref("User"), key=STRING,
                     value=nullable(STRING), proctored_exam=ref("Exam")),
    "AllowanceSet": obj(("exam_id", "user_info", "key", "value"), exam_id=LOOSE_INTEGER,
                        user_info=STRING, key=STRING, value=STRING),
    "AllowanceDelete": obj(("exam_id", "user_id", "key"), exam_id=LOOSE_INTEGER,
                           user_id=LOOSE_INTEGER, key=STRING),
    "BulkAllowance": obj(("exam_ids", "user_ids", "allowance_type", "value"),
                         course_id=STRING, exam_ids=STRING, user_ids=STRING,
                         allowance_type=STRING, value=STRING),
    "BulkAllowanceResult": array(obj(("exam_id", "user_id"), exam_id=INTEGER,
                                     user_id={"type": ["string", "integer"]},
                                     detail=STRING)),
    "OnboardingPage": obj(
        ("count", "num_pages", "results"), count=INTEGER, previous=nullable(STRING),
        next=nullable(STRING), num_pages=INTEGER,
        results=array(obj(("username", "status"), username=STRING,
                          enrollment_mode=nullable(STRING), status=STRING,
                          modified=nullable(TIMESTAMP))),
        use_onboarding_profile_api=BOOLEAN),
    "TokenRequest": obj(("grant_type",), grant_type={"type": "string",
                                                     "const": "client_credentials"},
                        client_id=STRING, client_secret=STRING),
    "Token": obj(("access_token", "token_type", "expires_in"), access_token=STRING,
                 token_type={"const": "Bearer"}, expires_in=INTEGER),
    "CallbackAccepted": {
        "const": "OK",
        "description": "edx-proctoring's answer. Whether the callback repeated one already "
                       "handled is in the X-Proctor-Duplicate header (true/false), the "
                       "attempt's status afterwards in X-Proctor-Attempt-Status.",
    },
    "ReviewCallback": {"type": "object", "description": "The provider's review document."},
    "Health": obj(("status",), status={"const": "ok"}),
    "Ready": obj(("status",), status={"type": "string", "enum": ["ready", "unavailable"]},
                 detail=STRING, problems={"type": "object",
                                          "additionalProperties": STRING}),
    "RetireBackendUser": {"type": "object", "additionalProperties": BOOLEAN},
}

COMPONENTS.update({
    "Empty": {"type": "object", "maxProperties": 0},
    "Null": {"type": "null"},
    "ActiveExamList": array(ref("ActiveExam")),
    "ExamList": array(ref("Exam")),
    "ExamIdList": array(ref("ExamId")),
    "ExamRegistration": array(ref("ExamWrite")),
    "AllowanceList": array(ref("Allowance")),
    "AllowancesByUser": {"type": "object", "additionalProperties": array(ref("Allowance"))},
    "OpenAPIDocument": obj(("openapi", "paths"), openapi=STRING, paths={"type": "object"}),
})
