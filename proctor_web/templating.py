"""Jinja globals and filters shared by every template."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, current_app, request
from flask_babel import get_locale, gettext
from flask_wtf.csrf import generate_csrf

from proctor_web.i18n import human_duration, human_seconds, platform_name
from proctor_web.lti.tool.frame_session import frame_origins
from proctor_web.security import headers


def current_locale() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "en"


def exam_url(exam: Any) -> str:
    from proctor_web.services.learner.payloads import exam_path

    return exam_path(exam.course_id, exam.content_id)


def exam_type_label(exam_type: Any) -> str:
    labels = {
        "timed": gettext("Timed exam"),
        "proctored": gettext("Proctored exam"),
        "practice": gettext("Practice exam"),
        "onboarding": gettext("Onboarding exam"),
    }
    return labels.get(str(exam_type), str(exam_type))


def clock_text(seconds: int | None) -> str:
    """H:MM:SS, the format the timer script also uses."""
    seconds = max(int(seconds or 0), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def timer_state(payload: dict[str, Any] | None) -> str:
    if not payload:
        return "normal"
    remaining = payload.get("time_remaining_seconds") or 0
    if remaining <= payload.get("critically_low_threshold_sec", 0):
        return "critical"
    if remaining <= payload.get("low_threshold_sec", 0):
        return "low"
    return "normal"


def payload_end(payload: dict[str, Any] | None) -> datetime | None:
    if not payload or not payload.get("timer_ends"):
        return None
    return datetime.fromisoformat(payload["timer_ends"].replace("Z", "+00:00"))


def client_state(page: Any) -> dict[str, Any]:
    """What the page's scripts start from: the payload, where to poll, translated phrases."""
    config = current_app.config
    payload = page.payload or {}
    in_progress = payload.get("attempt_status") in ("started", "ready_to_submit")
    waiting = payload.get("attempt_status") in ("created", "download_software_clicked")
    provider = page.context.get("provider") or {}
    worker_url = payload.get("desktop_application_js_url") or None
    # This page will start the provider's worker: its CSP must let it (and only this page).
    headers.allow_provider_worker(worker_url)
    headers.allow_frame_url(page.exam.content_url)  # the exam's questions, maybe on the LMS
    return {
        "situation": str(page.situation),
        "status": payload.get("attempt_status"),
        "attempt_id": payload.get("attempt_id"),
        "attempt_external_id": payload.get("external_id") or payload.get("attempt_code"),
        "timer_ends": payload.get("timer_ends") if in_progress else None,
        "timer_paused": bool(payload.get("timer_paused")) and in_progress,
        "server_time": payload.get("server_time"),
        "low_threshold_sec": payload.get("low_threshold_sec", 0),
        "critically_low_threshold_sec": payload.get("critically_low_threshold_sec", 0),
        "poll_url": payload.get("exam_started_poll_url") if (in_progress or waiting) else None,
        "poll_seconds": config["TIMER_POLL_SECONDS"] if in_progress else min(
            config["TIMER_POLL_SECONDS"], 3),
        "worker_url": worker_url,
        "ping_interval": payload.get("ping_interval") or config["PING_INTERVAL_SECONDS"],
        "software_download_url": provider.get("download_url"),
        # The configured LMS origins, and the platform's when an LTI launch opened the page.
        "frame_ancestors": frame_origins(),
        "csrf_token": generate_csrf(),
        "exam": {"course_id": page.exam.course_id, "content_id": page.exam.content_id},
        "strings": {
            "low": gettext("%(time)s left. Time is getting short.", time="{time}"),
            "critical": gettext("%(time)s left. Your exam will be submitted automatically "
                                "when time runs out.", time="{time}"),
            "ended": gettext("Time is up. Your exam is being submitted."),
            "minutes": gettext("{n} minutes"),
            "minute": gettext("1 minute"),
            "seconds": gettext("{n} seconds"),
            "start_failed": gettext("The proctoring software did not start, so your exam has "
                                    "not started. Make sure it is running, then try again."),
            "end_failed": gettext("The proctoring software did not confirm the end of the "
                                  "session. Your exam was submitted; close the software "
                                  "yourself."),
            "ping_failed": gettext("We lost contact with the proctoring software."),
            "working": gettext("Please wait…"),
        },
    }


def init_templating(app: Flask) -> None:
    app.jinja_env.globals.update(
        current_locale=current_locale,
        exam_url=exam_url,
        exam_type_label=exam_type_label,
        clock_text=clock_text,
        timer_state=timer_state,
        payload_end=payload_end,
        client_state=client_state,
        human_duration=human_duration,
        human_seconds=human_seconds,
    )

    @app.context_processor
    def inject_platform() -> dict[str, object]:
        return {"platform_name": platform_name(),
                "languages": app.config["LANGUAGES"]}

    @app.template_global()
    def lang_url(code: str) -> str:
        args = request.args.to_dict()
        args["lang"] = code
        from urllib.parse import urlencode

        return request.path + "?" + urlencode(args)
