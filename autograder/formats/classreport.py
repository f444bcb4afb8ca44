"""The class report of a batch (`class-report.md`, `class-report.html`): the score distribution
(a plot where matplotlib is installed, else a text histogram), for every check the share of the
graded class that failed it, and the most common diagnosed mistakes (the hints), each with the
slide to re-teach.

`parts(records)` computes what both renderers lay out (from the batch's per-submission records);
`markdown` and `html` lay it out, each on its own; `plot` draws the distribution as a PNG."""
from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from html import escape

from .. import lecture

BINS = 10          # score bins of 10 points: 0-9, ..., 90-100
TOP_MISTAKES = 15
BAR = 40           # characters of the longest histogram bar


@dataclass
class ClassParts:
    submissions: int
    graded: int
    failed: list                         # (name, reason) of those that could not be graded
    totals: list                         # totals of the graded ones
    bins: list                           # (label, count)
    checks: list = field(default_factory=list)     # (check id, slides, failed, share) by share
    mistakes: list = field(default_factory=list)   # (hint, function key, slides, count, share)

    @property
    def mean(self) -> float:
        return sum(self.totals) / len(self.totals) if self.totals else 0.0

    @property
    def median(self) -> float:
        t = sorted(self.totals)
        if not t:
            return 0.0
        mid = len(t) // 2
        return t[mid] if len(t) % 2 else (t[mid - 1] + t[mid]) / 2


def parts(records) -> ClassParts:
    records = list(records)
    graded = [r for r in records if r["status"] == "graded"]
    totals = [float(r["total"]) for r in graded]
    counts = Counter(min(int(t // (100 / BINS)), BINS - 1) for t in totals)
    width = 100 // BINS
    bins = [(f"{i * width}–{i * width + width - (0 if i == BINS - 1 else 1)}", counts.get(i, 0))
            for i in range(BINS)]
    failed_by_check: Counter = Counter()
    slides: dict[str, str] = {}
    order: dict[str, int] = {}
    hints: Counter = Counter()
    hint_where: dict[str, tuple] = {}
    for r in graded:
        seen_hints = set()
        for c in r.get("checks", []):
            order.setdefault(c["id"], len(order))
            slides.setdefault(c["id"], c.get("slides", ""))
            if not c["passed"]:
                failed_by_check[c["id"]] += 1
            hint = c.get("hint")
            if hint and not c["passed"] and (c["key"], hint) not in seen_hints:
                seen_hints.add((c["key"], hint))   # a mistake counts once per submission
                hints[(c["key"], hint)] += 1
                hint_where.setdefault((c["key"], hint), Counter())[c.get("slides", "")] += 1
    n = len(graded) or 1
    checks = sorted(((cid, slides[cid], failed_by_check[cid], failed_by_check[cid] / n)
                     for cid in order), key=lambda t: (-t[2], order[t[0]]))
    mistakes = [(hint, key, _reteach(key, hint_where[(key, hint)]), count, count / n)
                for (key, hint), count in sorted(hints.items(), key=lambda kv: (-kv[1], kv[0]))]
    return ClassParts(len(records), len(graded),
                      [(r["name"], r["error"]) for r in records if r["status"] != "graded"],
                      totals, bins, checks, mistakes[:TOP_MISTAKES])


def _reteach(key: str, where: Counter) -> str:
    """The slide to re-teach: the function's own slide in the lecture's map (lecture.specs),
    else the slides of the checks that gave the hint."""
    module, function = key.split(".")
    try:
        slide = lecture.MODULE[module].slides.get(function)
    except (KeyError, AttributeError):
        slide = None
    checked = where.most_common(1)[0][0] if where else ""
    if slide and checked and checked != slide:
        return f"{slide} (checked on {checked})"
    return slide or checked or "?"


def histogram(p: ClassParts) -> str:
    top = max((c for _, c in p.bins), default=0) or 1
    return "\n".join(f"{label:>7} | {'#' * round(BAR * count / top):<{BAR}} {count}"
                     for label, count in p.bins)


def plot(p: ClassParts) -> bytes | None:
    """The distribution as a PNG, or None without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception:
        return None
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(range(BINS), [c for _, c in p.bins], tick_label=[label for label, _ in p.bins])
    ax.set_xlabel("total (out of 100)")
    ax.set_ylabel("submissions")
    ax.set_title("score distribution")
    ax.tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%"


def _md(text) -> str:
    text = " ".join(str(text).split())
    for ch in "\\`*_[]<>|#!":
        text = text.replace(ch, "\\" + ch)
    return text


def markdown(p: ClassParts, *, image: str | None = None) -> str:
    out = ["# Class report", "",
           f"{p.submissions} submissions: {p.graded} graded, {len(p.failed)} could not be graded. "
           f"Mean {p.mean:.1f}, median {p.median:.1f} (out of 100).", "", "## Score distribution", ""]
    if image:
        out += [f"![score distribution]({image})", ""]
    out += ["```text", histogram(p), "```"]
    out += ["", "## Checks by the share of the class that failed them", "",
            "| check | slides | failed | share |", "|---|---|---:|---:|"]
    out += [f"| {_md(cid)} | {_md(sl)} | {n} | {_pct(share)} |" for cid, sl, n, share in p.checks]
    out += ["", "## Most common diagnosed mistakes", ""]
    if p.mistakes:
        out += ["| mistake (the hint) | function | re-teach slide | submissions | share |",
                "|---|---|---|---:|---:|"]
        out += [f"| {_md(hint)} | `{key}` | {_md(slide)} | {n} | {_pct(share)} |"
                for hint, key, slide, n, share in p.mistakes]
    else:
        out.append("No known mistake was diagnosed.")
    if p.failed:
        out += ["", "## Not graded", ""] + [f"- {_md(name)}: {_md(why)}" for name, why in p.failed]
    return "\n".join(out) + "\n"


def html(p: ClassParts, *, png: bytes | None = None) -> str:
    import base64

    e = lambda t: escape(str(t), quote=True)  # noqa: E731
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8"><title>Class report'
           "</title><style>body{font-family:system-ui,sans-serif;max-width:70em;margin:2em auto;"
           "padding:0 1em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em "
           ".6em}td.num{text-align:right}</style></head><body>", "<h1>Class report</h1>",
           f"<p>{p.submissions} submissions: {p.graded} graded, {len(p.failed)} could not be "
           f"graded. Mean {p.mean:.1f}, median {p.median:.1f} (out of 100).</p>",
           "<h2>Score distribution</h2>"]
    if png:
        out.append(f'<img alt="score distribution" src="data:image/png;base64,'
                   f'{base64.b64encode(png).decode()}">')
    out.append(f"<pre>{e(histogram(p))}</pre>")
    out += ["<h2>Checks by the share of the class that failed them</h2>",
            "<table><tr><th>check</th><th>slides</th><th>failed</th><th>share</th></tr>"]
    out += [f'<tr><td>{e(cid)}</td><td>{e(sl)}</td><td class="num">{n}</td>'
            f'<td class="num">{_pct(share)}</td></tr>' for cid, sl, n, share in p.checks]
    out += ["</table>", "<h2>Most common diagnosed mistakes</h2>"]
    if p.mistakes:
        out.append("<table><tr><th>mistake (the hint)</th><th>function</th><th>re-teach slide"
                   "</th><th>submissions</th><th>share</th></tr>")
        out += [f'<tr><td>{e(hint)}</td><td><code>{e(key)}</code></td><td>{e(slide)}</td>'
                f'<td class="num">{n}</td><td class="num">{_pct(share)}</td></tr>'
                for hint, key, slide, n, share in p.mistakes]
        out.append("</table>")
    else:
        out.append("<p>No known mistake was diagnosed.</p>")
    if p.failed:
        out.append("<h2>Not graded</h2><ul>" + "".join(
            f"<li>{e(name)}: {e(why)}</li>" for name, why in p.failed) + "</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
