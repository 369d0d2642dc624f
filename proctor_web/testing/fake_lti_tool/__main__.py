"""``python -m proctor_web.testing.fake_lti_tool --port N``: serve the fake LTI tool."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from werkzeug.serving import make_server

from proctor_web.testing.fake_lti_tool.app import create_fake_lti_tool


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m proctor_web.testing.fake_lti_tool",
        description="Run the fake LTI proctoring tool (test and demo use only; loopback only).",
    )
    parser.add_argument("--port", type=int, default=11137, help="port; 0 picks a free one")
    parser.add_argument("--client-id", default="fake-lti-tool")
    parser.add_argument("--deployment-id", default="fake-deployment-1")
    parser.add_argument("--platform-url", default="",
                        help="proctor_web's base URL (issuer; endpoints derived from it)")
    parser.add_argument("--auto-start", action="store_true",
                        help="post LtiStartAssessment as soon as the system check page loads")
    parser.add_argument("--no-end-assessment-return", action="store_true",
                        help="do not ask the platform for LtiEndAssessment")
    args = parser.parse_args(argv)
    app = create_fake_lti_tool({
        "CLIENT_ID": args.client_id,
        "DEPLOYMENT_ID": args.deployment_id,
        "PLATFORM_URL": args.platform_url,
        "AUTO_START": args.auto_start,
        "END_ASSESSMENT_RETURN": not args.no_end_assessment_return,
    })
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    print(f"Fake LTI proctoring tool listening on http://127.0.0.1:{server.server_port}",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
