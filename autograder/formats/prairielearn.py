"""PrairieLearn's external-grader results.json: `score` in 0..1, one test per check."""
from __future__ import annotations

import json

from ..results import Report, as_number
from . import text

MESSAGE_LIMIT = 4000   # characters per test message: the whole file must stay under 1 MB


def render(report: Report) -> str:
    tests = [{"name": c.id, "description": f"{c.step} (slide{'s' * (',' in c.slides)} {c.slides})"
              if c.slides else c.step,
              "points": as_number(c.points), "max_points": as_number(c.max_points),
              "message": "" if c.passed else text.feedback(c)[:MESSAGE_LIMIT],
              "output": c.output[-MESSAGE_LIMIT:]} for c in report.checks]
    score = float(report.score / report.max_score) if report.max_score else 0.0
    doc = {"gradable": not report.faults, "score": score,
           "message": f"{text.points(report.score)}/{text.points(report.max_score)} points",
           "output": text.table(report), "tests": tests}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
