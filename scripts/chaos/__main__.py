"""`python -m scripts.chaos`: the seeded fault-injection suite (see the package docstring)."""
from __future__ import annotations

import sys

from scripts.chaos.report import main

sys.exit(main())
