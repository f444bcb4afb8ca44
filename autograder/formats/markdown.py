"""A Markdown report for one submission (`feedback/<name>.md` of a batch, `--format markdown`):
the score table per function, then every failed check's feedback parts (formats.feedback) under a
heading, student text in fenced code blocks."""
from __future__ import annotations

from ..results import Report
from . import feedback as parts
from .text import points


def _fence(text: str) -> str:
    """A fenced code block that the text cannot close: its fence is longer than any run of
    backticks inside."""
    run, longest = 0, 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _inline(text: str) -> str:
    """One line of student or grader text, safe in a table cell or a paragraph."""
    text = " ".join(str(text).split())
    for ch in "\\`*_[]<>|#!":
        text = text.replace(ch, "\\" + ch)
    return text


def feedback(c) -> str:
    f = parts.of(c)
    out = [f"### ✗ {_inline(f.id)}", "", f"*{_inline(f.where)}*", "", _fence(f.message)]
    if f.inputs:
        out += ["", "Inputs:", "", _fence("\n".join(f"{name} = {value}" for name, value in f.inputs))]
    if f.expected is not None:
        out += ["", "Expected:", "", _fence(f.expected)]
    if f.got is not None:
        out += ["", "Got:", "", _fence(f.got)]
    if f.hint:
        out += ["", "**Hint:**", "", _fence(f.hint)]
    if f.formula:
        out += ["", "**Your formula:**", "", _fence(f.formula)]
    if f.traceback:
        out += ["", "Traceback (your code):", "", _fence(f.traceback)]
    if f.output:
        out += ["", "Your code printed:", "", _fence("\n".join(f.output))]
    return "\n".join(out)


def render(report: Report) -> str:
    out = [f"# gdkit: {_inline(report.submission)}", "",
           f"Seed {report.seed}, isolation {_inline(report.isolation)}, gdkit {report.version}."]
    out += [f"\n> note: {_inline(note)}" for note in report.notes]
    if not report.checks:
        out += ["", "**Not graded.**", ""]
        return "\n".join(out) + "\n"
    out += ["", "| function | points | out of | checks |", "|---|---:|---:|---|"]
    for f in report.functions:
        out.append(f"| `{f.key}` | {points(f.points)} | {points(f.max_points)} | "
                   f"{_inline(f.summary.splitlines()[0])} |")
    out.append(f"| **total** | **{points(report.score)}** | **{points(report.max_score)}** | "
               f"{report.percent:.1f}% |")
    failed = [c for c in report.checks if not c.passed]
    todo = sorted({c.key for c in failed if c.status == "todo"})
    missing = {c.key for c in failed if c.status == "missing"}
    shown = [c for c in failed if c.key not in todo and c.key not in missing]
    if todo:
        out += ["", "Not implemented yet: " + ", ".join(f"`{k}`" for k in todo)]
    if shown:
        out += ["", "## Feedback", ""]
        out += [feedback(c) + "\n" for c in shown]
    notes = [c for c in report.checks if c.note]
    if notes:
        out += ["", "## Notes (no points lost)", ""]
        out += [f"- {_inline(c.id)}: {_inline(c.note)}" for c in notes]
    for fault in report.faults:
        out += ["", "**Grader fault:**", "", _fence(fault)]
    out += ["", f"Score: {points(report.score)}/{points(report.max_score)}. "
                f"Replay with `gdkit grade --seed {report.seed}`."]
    return "\n".join(out) + "\n"
