"""``python -m proctor_web.testing.fake_provider --port N``: serve the fake provider."""

import sys

from proctor_web.testing.fake_provider.cli import main

sys.exit(main())
