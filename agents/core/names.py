"""The one charset for names that end up in URLs, Redis keys and Temporal ids: agent
names, run ids, schedule ids. Safe in all three without escaping."""

from __future__ import annotations

import re

SAFE_NAME = r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}"
SAFE_NAME_RE = re.compile(f"^{SAFE_NAME}$")
