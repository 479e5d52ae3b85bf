"""``python -m mitigate``."""

from __future__ import annotations

import sys

from mitigate.cli import main

sys.exit(main())
