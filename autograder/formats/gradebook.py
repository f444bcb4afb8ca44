"""The gradebook of a batch, as CSV and as JSON: one row per submission, one column per
`module.function` in grading order, the total out of 100, then the status and the reason.

Rendered from the batch's per-submission records (drivers/batch.py: `record`), which hold the
points of one Report per function."""
from __future__ import annotations

import csv
import io
import json

from .. import __version__, lecture
from ..results import as_number

STATUSES = ("graded", "failed")


def columns() -> list[str]:
    """Every student function's 'module.function', in grading order."""
    return list(lecture.FUNCTIONS)


def _number(value) -> str:
    return str(value) if isinstance(value, int) else f"{value:.4f}".rstrip("0").rstrip(".")


def _cell(text: str) -> str:
    """A text cell that a spreadsheet will not run as a formula."""
    text = " ".join(str(text).split())
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def to_csv(records) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["name", *columns(), "total", "status", "error"])
    for r in records:
        w.writerow([_cell(r["name"]), *(_number(r["functions"].get(k, 0)) for k in columns()),
                    _number(r["total"]), r["status"], _cell(r["error"])])
    return out.getvalue()


def to_json(records, *, seed) -> str:
    rubric = lecture.rubric()
    doc = {"tool": "gdkit", "version": __version__, "seed": seed, "columns": columns(),
           "max_points": {k: as_number(rubric[k].points) for k in columns()}, "max_total": 100,
           "submissions": [{k: r[k] for k in ("name", "file", "key", "status", "error", "total",
                                               "functions")} for r in records]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
