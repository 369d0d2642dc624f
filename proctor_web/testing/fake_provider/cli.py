"""``python -m proctor_web.testing.fake_provider``: serve the fake provider from a shell."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from werkzeug.serving import make_server

from proctor_web.testing.fake_provider.app import create_fake_provider
from proctor_web.testing.fake_provider.loopback import is_loopback, url_host
from proctor_web.testing.fake_provider.settings import (
    DEFAULT_SETTINGS,
    DESKTOP_APP_STATES,
    ONBOARDING_STATUSES,
    REVIEW_OUTCOMES,
)
from proctor_web.testing.fake_provider.state import get_state


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m proctor_web.testing.fake_provider",
        description="Run the fake REST proctoring provider (test and demo use only).",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (loopback only by default)"
    )
    parser.add_argument(
        "--allow-non-loopback",
        action="store_true",
        help="allow binding a non-loopback address; the /_control/ endpoints stay loopback-only",
    )
    parser.add_argument("--port", type=int, default=11136, help="port to bind; 0 picks a free one")
    parser.add_argument(
        "--lms-url", default=DEFAULT_SETTINGS["LMS_URL"], help="fallback LMS base URL"
    )
    parser.add_argument("--lms-client-id", default=DEFAULT_SETTINGS["LMS_CLIENT_ID"])
    parser.add_argument("--lms-client-secret", default=DEFAULT_SETTINGS["LMS_CLIENT_SECRET"])
    parser.add_argument("--client-id", default=DEFAULT_SETTINGS["CLIENT_ID"])
    parser.add_argument("--client-secret", default=DEFAULT_SETTINGS["CLIENT_SECRET"])
    parser.add_argument(
        "--review-outcome", choices=REVIEW_OUTCOMES, default=DEFAULT_SETTINGS["REVIEW_OUTCOME"]
    )
    parser.add_argument(
        "--ready-delay", type=float, default=DEFAULT_SETTINGS["READY_DELAY_SECONDS"]
    )
    parser.add_argument(
        "--review-delay", type=float, default=DEFAULT_SETTINGS["REVIEW_DELAY_SECONDS"]
    )
    parser.add_argument("--onboarding-status", choices=ONBOARDING_STATUSES, default=None)
    parser.add_argument("--fail-mode", choices=("error500", "hang"), default=None)
    parser.add_argument(
        "--desktop-app",
        choices=DESKTOP_APP_STATES,
        default=DEFAULT_SETTINGS["DESKTOP_APP"],
        help="how the stand-in desktop application answers the browser worker",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the fake provider until interrupted."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if not is_loopback(args.host) and not args.allow_non_loopback:
        parser.error(
            f"refusing to bind non-loopback address {args.host!r} "
            "(pass --allow-non-loopback to insist)"
        )
    try:
        app = create_fake_provider(
            {
                "CLIENT_ID": args.client_id,
                "CLIENT_SECRET": args.client_secret,
                "LMS_URL": args.lms_url,
                "LMS_CLIENT_ID": args.lms_client_id,
                "LMS_CLIENT_SECRET": args.lms_client_secret,
                "REVIEW_OUTCOME": args.review_outcome,
                "READY_DELAY_SECONDS": args.ready_delay,
                "REVIEW_DELAY_SECONDS": args.review_delay,
                "ONBOARDING_STATUS": args.onboarding_status,
                "FAIL_MODE": args.fail_mode,
                "DESKTOP_APP": args.desktop_app,
            }
        )
    except ValueError as exc:
        parser.error(str(exc))
    server = make_server(args.host, args.port, app, threaded=True)
    url = f"http://{url_host(args.host)}:{server.server_port}"
    print(f"Fake proctoring provider listening on {url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        get_state(app).close()
        server.server_close()
    return 0
