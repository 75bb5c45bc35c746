"""Settings for subprocess tests of manage.py commands: the test settings, CACHES from JSON."""

import json
import os

from tests.django_settings import *  # noqa: F403

CACHES = json.loads(os.environ["TEST_CACHES"])
