"""The terminal report: a score table per function, then the feedback of every failed check."""
from __future__ import annotations

from ..results import Report
from . import feedback as parts

WIDTH = 34


def points(value) -> str:
    return f"{float(value):.2f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def table(report: Report) -> str:
    lines = [f"{'function':<{WIDTH}} {'score':>11}  checks"]
    for f in report.functions:
        score = f"{points(f.points)}/{points(f.max_points)}"
        lines.append(f"{f.key:<{WIDTH}} {score:>11}  {f.summary.split(chr(10))[0]}")
    total = f"{points(report.score)}/{points(report.max_score)}"
    lines.append(f"{'TOTAL':<{WIDTH}} {total:>11}  ({report.percent:.1f}%)")
    return "\n".join(lines)


def block(first: str, text, indent: str) -> list[str]:
    """`first` + the first line of `text`, its other lines indented: whatever a field holds (a
    student's exception message, say), none of it starts at column 0 of the report."""
    lines = str(text).split("\n")
    return [first + lines[0]] + [indent + line for line in lines[1:]]


def feedback(c) -> str:
    """Everything a student needs to fix one failed check. Only the first line starts at column
    0; everything that comes from the student's code is indented below it."""
    f = parts.of(c)
    lines = [f"✗ {f.id}  [{f.where}]"] + block("    ", f.message, "      ")
    for name, value in f.inputs:
        lines += block(f"    {name:>9} = ", value, "                ")
    if f.expected is not None:
        lines += block("    expected: ", f.expected, "              ")
    if f.got is not None:
        lines += block("    got:      ", f.got, "              ")
    if f.hint:
        lines += block("    hint: ", f.hint, "          ")
    if f.formula:
        lines += block("    formula: ", f.formula, "             ")
    if f.traceback:
        lines.append("    traceback (your code):")
        lines += ["      " + line for line in f.traceback.split("\n")]
    if f.output:
        lines.append("    your code printed:")
        lines += ["      | " + line for line in f.output]
    return "\n".join(lines)


def render(report: Report) -> str:
    head = (f"gdkit {report.version}: {report.submission}  (seed {report.seed}, isolation: "
            f"{report.isolation}, {report.seconds:.1f} s)")
    out = [head] + [f"note: {note}" for note in report.notes] + ["", table(report)]
    failed = [c for c in report.checks if not c.passed]
    todo = {c.key for c in failed if c.status == "todo"}
    missing = {c.key for c in failed if c.status == "missing"}
    shown = [c for c in failed if c.key not in todo and c.key not in missing]
    if todo:
        out += ["", "Not implemented yet: " + ", ".join(sorted(todo))]
    if shown:
        out += ["", "Feedback:"]
        out += [feedback(c) for c in shown]
    notes = [c for c in report.checks if c.note]
    if notes:
        out += ["", "Notes (no points lost):"]
        for c in notes:
            out += block(f"  {c.id}: ", c.note, "    ")
    for fault in report.faults:
        out += [""] + block("GRADER FAULT: ", fault, "    ")
    out += ["", f"Score: {points(report.score)}/{points(report.max_score)}. "
                f"Replay with --seed {report.seed}."]
    return "\n".join(out) + "\n"

