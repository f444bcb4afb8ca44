"""GitHub Classroom's runner result (before base64): one test per function, weighted, partial.

    {"version": 1, "status": "pass"|"fail"|"error", "max_score": 100, "tests": [...]}

`classroom-resources/autograding-grading-reporter` sums tests[].score: a function's points are
whole cents (integers when full), so the sum is the report's score."""
from __future__ import annotations

import json

from ..results import Report, as_number
from . import text


def render(report: Report) -> str:
    tests = []
    for f in report.functions:
        failed = [c for c in f.checks if not c.passed]
        tests.append({
            "name": f"{f.key} ({text.points(f.max_points)} points)",
            "status": "fail" if failed else "pass",
            "score": as_number(f.points),
            "message": "\n\n".join(text.feedback(c) for c in failed) if failed else f.summary,
            "test_code": f"gdkit grade --only {f.key}",
            "filename": f"{f.module}.py",
            "line_no": 0,
            "duration": round(1000 * sum(c.seconds for c in f.checks)),
        })
    status = ("error" if report.faults else "fail" if any(t["status"] == "fail" for t in tests)
              else "pass")
    doc = {"version": 1, "status": status, "max_score": as_number(report.max_score), "tests": tests}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
