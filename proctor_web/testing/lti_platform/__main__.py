import sys

from proctor_web.testing.lti_platform.server import main

sys.exit(main())
