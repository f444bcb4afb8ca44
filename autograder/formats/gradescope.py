"""Gradescope's results.json: one test per check, named '<module>.<function>: <check>'."""
from __future__ import annotations

import json

from ..results import Report, as_number
from . import text


def render(report: Report) -> str:
    tests = []
    for c in report.checks:
        test = {"name": c.id, "score": as_number(c.points), "max_score": as_number(c.max_points),
                "status": "passed" if c.passed else "failed", "output": "" if c.passed else
                text.feedback(c), "visibility": "visible"}
        if c.note:
            test["output"] = (test["output"] + "\nnote: " + c.note).strip()
        tests.append(test)
    doc = {"score": as_number(report.score), "execution_time": round(report.seconds, 3),
           "output": "\n".join([text.table(report), "", f"seed {report.seed}, isolation: {report.isolation}",
                                 *(f"note: {n}" for n in report.notes)]),
           "output_format": "text", "test_output_format": "text", "visibility": "visible",
           "stdout_visibility": "hidden", "tests": tests,
           "extra_data": {"seed": report.seed, "isolation": report.isolation,
                          "version": report.version, "faults": report.faults,
                          "notes": report.notes}}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
