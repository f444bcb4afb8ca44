"""A standalone HTML report for one submission (`feedback/<name>.html` of a batch, `--format
html`): the score table per function, then every failed check's feedback parts (formats.feedback).
Every piece of text is HTML-escaped; no script, no external resource."""
from __future__ import annotations

from html import escape

from ..results import Report
from . import feedback as parts
from .text import points

STYLE = ("body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
         "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em}"
         "td.num{text-align:right}pre{background:#f6f6f6;padding:.5em;overflow-x:auto;"
         "white-space:pre-wrap}.hint,.formula{border-left:4px solid #d90;padding-left:.5em}"
         "h3{color:#a00}")


def _e(text) -> str:
    return escape(str(text), quote=True)


def _pre(text) -> str:
    return f"<pre>{_e(text)}</pre>"


def feedback(c) -> str:
    f = parts.of(c)
    out = [f'<section class="check" id="{_e(f.id)}">', f"<h3>✗ {_e(f.id)}</h3>",
           f"<p><em>{_e(f.where)}</em></p>", _pre(f.message)]
    if f.inputs:
        out.append("<table class=\"inputs\">" + "".join(
            f"<tr><th>{_e(name)}</th><td><code>{_e(value)}</code></td></tr>"
            for name, value in f.inputs) + "</table>")
    if f.expected is not None:
        out += ["<p>Expected:</p>", _pre(f.expected)]
    if f.got is not None:
        out += ["<p>Got:</p>", _pre(f.got)]
    if f.hint:
        out.append(f'<div class="hint"><strong>Hint:</strong> {_pre(f.hint)}</div>')
    if f.formula:
        out.append(f'<div class="formula"><strong>Your formula:</strong> {_pre(f.formula)}</div>')
    if f.traceback:
        out += ["<p>Traceback (your code):</p>", _pre(f.traceback)]
    if f.output:
        out += ["<p>Your code printed:</p>", _pre("\n".join(f.output))]
    out.append("</section>")
    return "\n".join(out)


def render(report: Report) -> str:
    title = f"gdkit: {report.submission}"
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>",
           f"<h1>{_e(title)}</h1>",
           f"<p>Seed {report.seed}, isolation {_e(report.isolation)}, gdkit {_e(report.version)}.</p>"]
    out += [f'<p class="note">note: {_e(note)}</p>' for note in report.notes]
    if not report.checks:
        out += ["<p><strong>Not graded.</strong></p>", "</body></html>"]
        return "\n".join(out) + "\n"
    out.append("<table><tr><th>function</th><th>points</th><th>out of</th><th>checks</th></tr>")
    for f in report.functions:
        out.append(f'<tr data-key="{_e(f.key)}"><td><code>{_e(f.key)}</code></td>'
                   f'<td class="num points">{points(f.points)}</td>'
                   f'<td class="num max">{points(f.max_points)}</td>'
                   f"<td>{_e(f.summary.splitlines()[0])}</td></tr>")
    out.append(f'<tr class="total"><th>total</th><th class="num">{points(report.score)}</th>'
               f'<th class="num">{points(report.max_score)}</th><th>{report.percent:.1f}%</th></tr>')
    out.append("</table>")
    failed = [c for c in report.checks if not c.passed]
    todo = sorted({c.key for c in failed if c.status == "todo"})
    missing = {c.key for c in failed if c.status == "missing"}
    shown = [c for c in failed if c.key not in todo and c.key not in missing]
    if todo:
        out.append("<p>Not implemented yet: " + ", ".join(f"<code>{_e(k)}</code>" for k in todo)
                   + "</p>")
    if shown:
        out.append("<h2>Feedback</h2>")
        out += [feedback(c) for c in shown]
    notes = [c for c in report.checks if c.note]
    if notes:
        out.append("<h2>Notes (no points lost)</h2><ul>")
        out += [f"<li>{_e(c.id)}: {_e(c.note)}</li>" for c in notes]
        out.append("</ul>")
    for fault in report.faults:
        out += ["<p><strong>Grader fault:</strong></p>", _pre(fault)]
    out.append(f"<p>Score: {points(report.score)}/{points(report.max_score)}. Replay with "
               f"<code>gdkit grade --seed {report.seed}</code>.</p></body></html>")
    return "\n".join(out) + "\n"
