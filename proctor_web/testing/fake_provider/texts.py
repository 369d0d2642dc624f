"""What the fake provider says: its name, rules and instructions (en, es), review findings."""

from __future__ import annotations

from typing import Any

PROVIDER_NAME = "Fake Proctoring Service"

RULES: dict[str, dict[str, str]] = {
    "en": {
        "allow_notes": "Allow notes",
        "allow_calculator": "Allow a calculator",
        "allow_multiple_monitors": "Allow multiple monitors",
        "allow_internet": "Allow internet access",
    },
    "es": {
        "allow_notes": "Permitir apuntes",
        "allow_calculator": "Permitir calculadora",
        "allow_multiple_monitors": "Permitir varios monitores",
        "allow_internet": "Permitir acceso a internet",
    },
}

INSTRUCTIONS: dict[str, list[str]] = {
    "en": [
        "Select the system check link to open the fake proctoring page.",
        "Keep that page open: the session is reported ready after a short delay.",
        "Return to the exam and start it.",
    ],
    "es": [
        "Selecciona el enlace de comprobación del sistema para abrir la página de supervisión "
        "simulada.",
        "Mantén esa página abierta: la sesión se marcará como lista tras una breve espera.",
        "Vuelve al examen y comiénzalo.",
    ],
}

# A passed review carries no comments, like a real clean session; the others carry one finding
# each, timed in seconds from the start of the session as the contract describes.
REVIEW_COMMENTS: dict[str, list[dict[str, Any]]] = {
    "passed": [],
    "violation": [
        {
            "comment": "A second person was visible in the webcam feed.",
            "status": "violation",
            "start": 12,
            "stop": 40,
            "duration": 28,
        }
    ],
    "suspicious": [
        {
            "comment": "The learner repeatedly looked away from the screen.",
            "status": "suspicious",
            "start": 12,
            "stop": 40,
            "duration": 28,
        }
    ],
    "not_reviewed": [
        {
            "comment": "The webcam recording is incomplete, so the session could not be reviewed.",
            "status": "not_reviewed",
            "start": 12,
            "stop": 40,
            "duration": 28,
        }
    ],
}


def review_body(status: str) -> dict[str, Any]:
    """The JSON the fake POSTs to ``.../reviewed`` for a given outcome."""
    return {
        "status": status,
        "comments": [dict(comment) for comment in REVIEW_COMMENTS.get(status, [])],
        "reviewed_by": None,
    }
