"""Names the LTI 1.3 core and Proctoring Services 1.0 specifications give things."""

from proctor_web.lti.core_claims import *  # noqa: F403  (the core names, here too)

LTI_AP = "https://purl.imsglobal.org/spec/lti-ap/claim/"

ATTEMPT_NUMBER = LTI_AP + "attempt_number"
START_ASSESSMENT_URL = LTI_AP + "start_assessment_url"
SESSION_DATA = LTI_AP + "session_data"
ACS = LTI_AP + "acs"
PROCTORING_SETTINGS = LTI_AP + "proctoring_settings"
END_ASSESSMENT_RETURN = LTI_AP + "end_assessment_return"
VERIFIED_USER = LTI_AP + "verified_user"
ERRORMSG = LTI_AP + "errormsg"
ERRORLOG = LTI_AP + "errorlog"

START_PROCTORING = "LtiStartProctoring"
START_ASSESSMENT = "LtiStartAssessment"
END_ASSESSMENT = "LtiEndAssessment"

ROLE_LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
CONTEXT_COURSE = "http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"

ACS_SCOPE = "https://purl.imsglobal.org/spec/lti-ap/scope/control.all"
ACS_MEDIA_TYPE = "application/vnd.ims.lti-ap.v1.control+json"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
