"""What a student reads about one failed check, as parts: every format lays out the same parts
(text indents them, a Markdown or HTML format would use headings and code blocks)."""
from __future__ import annotations

from dataclasses import dataclass, field

OUTPUT_LINES = 20   # lines of what the student's code printed that feedback shows


@dataclass
class Feedback:
    id: str
    where: str                      # "slide 9, step 3, compute the loss"
    message: str
    inputs: list = field(default_factory=list)   # (name, value as text)
    expected: str | None = None
    got: str | None = None
    hint: str | None = None
    traceback: str | None = None    # the student's own frames
    output: list = field(default_factory=list)   # the last lines the student's code printed
    formula: str | None = None      # the student's formula next to the lecture's (plain Python)


def of(c) -> Feedback:
    """The feedback parts of a CheckResult."""
    many = any(sep in c.slides for sep in ",–-")
    where = f"slide{'s' * many} {c.slides}, " if c.slides else ""
    return Feedback(c.id, where + c.step, c.message, list(c.inputs.items()), c.expected, c.got,
                    c.hint, c.traceback.rstrip() if c.traceback else None,
                    c.output.rstrip().split("\n")[-OUTPUT_LINES:] if c.output.strip() else [],
                    getattr(c, "formula", None))
