"""The result model: the single source that every output format renders.

Points are Fractions, so that shares like 5/6 add up to exactly the rubric's total; renderers
round only when they print.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from fractions import Fraction

@dataclass
class CheckResult:
    module: str
    function: str
    name: str
    kind: str
    slides: str
    step: str
    status: str                     # passed, failed, error, todo, missing, timeout, crash,
                                    # skipped or fault (the grader's, not the student's)
    points: Fraction
    max_points: Fraction
    message: str = ""               # why it failed, one or two sentences
    inputs: dict = field(default_factory=dict)   # name -> value as text
    expected: str | None = None
    got: str | None = None
    hint: str | None = None         # what the mistake probably is
    note: str | None = None         # a remark that costs nothing (a style choice noticed)
    output: str = ""                # what the student's code printed during the check
    traceback: str | None = None    # the student's own frames only
    seconds: float = 0.0
    formula: str | None = None      # the formula the student's function implements, next to the
                                    # lecture's (plain-Python functions, feedback/formula.py)

    @property
    def key(self) -> str:
        return f"{self.module}.{self.function}"

    @property
    def id(self) -> str:
        return f"{self.key}: {self.name}"

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["id"] = self.id
        d["points"], d["max_points"] = as_number(self.points), as_number(self.max_points)
        return d


@dataclass
class FunctionResult:
    module: str
    function: str
    checks: list

    @property
    def key(self) -> str:
        return f"{self.module}.{self.function}"

    @property
    def points(self) -> Fraction:
        return sum((c.points for c in self.checks), Fraction(0))

    @property
    def max_points(self) -> Fraction:
        return sum((c.max_points for c in self.checks), Fraction(0))

    @property
    def passed(self) -> int:
        return sum(c.passed for c in self.checks)

    @property
    def summary(self) -> str:
        """One phrase for the score table: the common reason when every check failed alike."""
        if self.passed == len(self.checks):
            return "all checks passed"
        statuses = {c.status for c in self.checks}
        if statuses <= {"todo", "skipped"} and "todo" in statuses:
            return "not implemented yet"
        if statuses == {"missing"}:
            return self.checks[0].message
        return f"{self.passed}/{len(self.checks)} checks passed"


@dataclass
class Report:
    submission: str
    seed: int
    isolation: str
    checks: list                    # CheckResult, in grading order
    started: str = ""
    seconds: float = 0.0
    version: str = ""
    faults: list = field(default_factory=list)   # grader faults, not the student's
    notes: list = field(default_factory=list)

    @property
    def functions(self) -> list[FunctionResult]:
        groups: dict[str, FunctionResult] = {}
        for c in self.checks:
            groups.setdefault(c.key, FunctionResult(c.module, c.function, [])).checks.append(c)
        return list(groups.values())

    @property
    def score(self) -> Fraction:
        return sum((c.points for c in self.checks), Fraction(0))

    @property
    def max_score(self) -> Fraction:
        return sum((c.max_points for c in self.checks), Fraction(0))

    @property
    def percent(self) -> float:
        return float(100 * self.score / self.max_score) if self.max_score else 0.0

    def to_dict(self) -> dict:
        return {
            "tool": "gdkit", "version": self.version, "submission": self.submission,
            "seed": self.seed, "isolation": self.isolation, "started": self.started,
            "seconds": round(self.seconds, 3), "score": as_number(self.score),
            "max_score": as_number(self.max_score), "faults": list(self.faults),
            "notes": list(self.notes),
            "functions": [{"name": f.key, "points": as_number(f.points),
                           "max_points": as_number(f.max_points), "passed": f.passed,
                           "checks": len(f.checks), "summary": f.summary} for f in self.functions],
            "checks": [c.to_dict() for c in self.checks],
        }


def as_number(points: Fraction) -> float | int:
    """Points for a machine-readable format: an int when whole, else rounded to 4 places."""
    return int(points) if points.denominator == 1 else round(float(points), 4)
