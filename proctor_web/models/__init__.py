"""All models, importable from one place (Alembic and the app import this module)."""

from proctor_web.models.allowance import (
    TIME_MULTIPLIER,
    Allowance,
    AllowanceHistory,
    AllowanceKey,
)
from proctor_web.models.attempt import Attempt, AttemptHistory, AttemptStatus
from proctor_web.models.base import Base, utcnow
from proctor_web.models.exam import Exam, ExamType, ReviewPolicy, ReviewPolicyHistory
from proctor_web.models.lti import (
    LtiContext,
    LtiDeployment,
    LtiLoginState,
    LtiNonce,
    LtiPlatform,
    LtiResourceLink,
)
from proctor_web.models.lti_grades import LtiGradeSettings, LtiScoreOutbox
from proctor_web.models.lti_key import LtiKey
from proctor_web.models.lti_proctoring import (
    AttemptIncident,
    LtiProctoringSession,
    LtiUsedValue,
)
from proctor_web.models.lti_roster import LtiRosterSync
from proctor_web.models.provider import (
    DeliveryStatus,
    EmailMessage,
    ExamSyncState,
    OAuthClient,
    ProviderEvent,
    WebhookReceipt,
)
from proctor_web.models.review import Review, ReviewComment, ReviewHistory
from proctor_web.models.user import Course, CourseMembership, CourseRole, User, UserIdentity

__all__ = [
    "TIME_MULTIPLIER",
    "Allowance",
    "AllowanceHistory",
    "AllowanceKey",
    "Attempt",
    "AttemptHistory",
    "AttemptIncident",
    "AttemptStatus",
    "Base",
    "Course",
    "CourseMembership",
    "CourseRole",
    "DeliveryStatus",
    "EmailMessage",
    "Exam",
    "ExamSyncState",
    "ExamType",
    "LtiContext",
    "LtiDeployment",
    "LtiGradeSettings",
    "LtiKey",
    "LtiLoginState",
    "LtiNonce",
    "LtiPlatform",
    "LtiProctoringSession",
    "LtiResourceLink",
    "LtiUsedValue",
    "LtiRosterSync",
    "LtiScoreOutbox",
    "OAuthClient",
    "ProviderEvent",
    "Review",
    "ReviewComment",
    "ReviewHistory",
    "ReviewPolicy",
    "ReviewPolicyHistory",
    "User",
    "UserIdentity",
    "WebhookReceipt",
    "utcnow",
]
