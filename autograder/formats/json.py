"""The full result model as JSON: every check with its points, inputs, expected and got."""
from __future__ import annotations

import json

from ..results import Report


def render(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
