"""`gdkit grade-batch ... --nbgrader-course COURSE_DIR`: a batch's scores of nbgrader submissions,
written into that course's nbgrader gradebook through nbgrader's own API (docs/batch.md, "Into
nbgrader's gradebook").

Runs in the trusted parent once the batch is done (never in a grading child or a worker), from the
records the children wrote and the submissions the parent discovered itself: the student id and
the assignment are the folders of `submitted/<student>/<assignment>/`, never anything read from a
notebook.

For every nbgrader submission of the batch:

- the student is added to the gradebook when missing, and the submission too (nbgrader's
  `add_submission`, which mirrors the assignment's notebooks and grade cells); the submission's
  `timestamp.txt`, when there is one, becomes its timestamp, as `nbgrader autograde` does;
- every grade cell of the assignment whose grade_id names a gdkit function
  (`linear_regression_basic-loss` for `linear_regression_basic.loss`) gets that function's points
  as its `auto_score`, exactly (whole cents); `manual_score` and `extra_credit` are never touched,
  so a grader's override in formgrader still wins, and `needs_manual_grade` is set as nbgrader's
  own autograde would (below);
- grade cells that name no gdkit function (a written answer the instructor added) are left alone,
  for manual grading in formgrader;
- a submission that gdkit could not grade (`failed` in the gradebook: an unreadable notebook, a
  grading process that crashed or outlived its limit) gets 0 on every cell, flagged
  `needs_manual_grade`, so that formgrader lists it for review; the reason is in OUT's gradebook
  and the student's feedback file.

`needs_manual_grade`: a graded cell without a manual score is not flagged; a cell with a manual
score is flagged when its auto score changes (the override was given against another score), and
otherwise keeps its flag; a failed submission's cells are flagged. Running the same batch again
writes the same values and changes nothing.

The assignment must have been generated (`nbgrader generate_assignment`), so that the gradebook
knows its notebooks and grade cells; else, or when a cell's points differ from
`data/rubric.toml`, nothing is written and the error says what to run. The database is the
course's `CourseDirectory.db_url` (default `COURSE_DIR/gradebook.db`), read from the
configuration nbgrader itself reads when run inside COURSE_DIR: the Jupyter config folders' and
COURSE_DIR's `nbgrader_config.py`.

nbgrader is an optional extra: it is imported here only, and `preflight` says so before any
grading when it is not installed.
"""
from __future__ import annotations

import importlib.util
import logging
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from .. import lecture

CONFIG = "nbgrader_config"
MAX_TIMESTAMP_BYTES = 200


class Error(Exception):
    """Nothing (more) can be written; the message says why and what to do."""


@dataclass
class Summary:
    db: str                                            # where the grades went (no password)
    students: list = field(default_factory=list)       # student ids written
    failed: list = field(default_factory=list)         # of them, those gdkit could not grade
    unmatched: dict = field(default_factory=dict)      # assignment -> grade cells left alone
    not_in_gradebook: dict = field(default_factory=dict)   # assignment -> gdkit functions
    others: int = 0                                    # submissions that are not nbgrader's

    def lines(self) -> list[str]:
        out = [f"wrote {len(self.students)} students' grades into {self.db}"]
        if self.failed:
            out.append(f"{len(self.failed)} could not be graded: 0 on every cell, flagged for "
                       f"manual grading ({', '.join(self.failed)})")
        for assignment, cells in sorted(self.unmatched.items()):
            out.append(f"{assignment}: left to manual grading (no gdkit function): "
                       + ", ".join(cells))
        for assignment, keys in sorted(self.not_in_gradebook.items()):
            out.append(f"{assignment}: no grade cell for {', '.join(keys)} (not written)")
        if self.others:
            out.append(f"{self.others} submission(s) not from nbgrader's submitted/ left out")
        return out


def preflight(course) -> str | None:
    """Why `--nbgrader-course` cannot work, checked before any grading (cheap: nothing imported)."""
    if importlib.util.find_spec("nbgrader") is None:
        return ("--nbgrader-course needs nbgrader, which is not installed here: "
                "python -m pip install 'gdkit[nbgrader]' (or 'nbgrader>=0.9')")
    if not Path(course).is_dir():
        return f"--nbgrader-course {course}: not a folder"
    return None


def coursedir(course):
    """nbgrader's CourseDirectory of COURSE_DIR, configured as nbgrader configures it when run in
    that folder: the Jupyter config folders' nbgrader_config.py, then COURSE_DIR's own."""
    from nbgrader.apps.baseapp import NbGrader
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Application

    course = Path(course).resolve()
    app = NbGrader()
    app.log.setLevel(logging.ERROR)     # not "No nbgrader_config.py file found" in ~/.jupyter
    app.load_cwd_config = False         # the course folder stands for nbgrader's cwd
    app.raise_config_file_errors = True
    try:
        app.load_config_file()
        Application.load_config_file(app, CONFIG, path=str(course))
    except Exception as e:  # noqa: BLE001 - the instructor's config: say which and why
        raise Error(f"nbgrader's configuration does not load ({type(e).__name__}: {e})") from None
    config = app.config
    if "root" not in config.CourseDirectory:
        config.CourseDirectory.root = str(course)
    return CourseDirectory(config=config)


def cents(value) -> float:
    """A record's points as the float nbgrader stores: exact, whole cents."""
    exact = Fraction(str(value))
    if (exact * 100).denominator != 1 or exact < 0:
        raise Error(f"{value!r} is not a whole number of cents")
    return float(exact)


def _where(db_url: str) -> tuple[str, Path | None]:
    """(the database as printed, its file when it is SQLite's)."""
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return url.database, Path(url.database)
    return url.render_as_string(hide_password=True), None


def _timestamp(folder: Path):
    """timestamp.txt of a submitted folder, as nbgrader reads it (None when absent or unreadable)."""
    from nbgrader.utils import parse_utc

    try:
        with open(folder / "timestamp.txt", "rb") as f:
            text = f.read(MAX_TIMESTAMP_BYTES + 1)
        if len(text) > MAX_TIMESTAMP_BYTES:
            return None
        return parse_utc(text.decode("utf-8").strip()) if text.strip() else None
    except Exception:  # noqa: BLE001 - absent or not a timestamp: the submission has none
        return None


def _plan(gb, assignment: str, db: str, course) -> tuple[list, list, list]:
    """([(notebook, grade cell, gdkit function)], cells left alone, functions without a cell)."""
    from nbgrader.api import MissingEntry

    from ..release.nbgrader import grade_id

    rubric = lecture.rubric()
    by_id = {grade_id(key): key for key in lecture.FUNCTIONS}
    run = f"run `nbgrader generate_assignment {assignment}` in {course} first"
    try:
        notebooks = gb.find_assignment(assignment).notebooks
    except MissingEntry:
        raise Error(f"assignment {assignment!r} is not in the gradebook {db}: {run} (it records "
                    "the assignment's notebooks and grade cells)") from None
    matched, unmatched = [], []
    for nb in sorted(notebooks, key=lambda n: n.name):
        for cell in sorted(nb.grade_cells, key=lambda c: c.name):
            key = by_id.get(cell.name)
            if key is None:
                unmatched.append(f"{nb.name}/{cell.name}")
                continue
            if cell.max_score != float(rubric[key].points):
                raise Error(f"grade cell {nb.name}/{cell.name} of {assignment!r} is worth "
                            f"{cell.max_score:g} points in the gradebook but "
                            f"{float(rubric[key].points):g} in data/rubric.toml: release the "
                            f"course again (gdkit release nbgrader) and {run}")
            matched.append((nb.name, cell.name, key))
    if not matched:
        raise Error(f"assignment {assignment!r} in the gradebook {db} has no grade cell named "
                    "after a gdkit function (grade_ids like linear_regression_basic-loss): is it "
                    f"the course `gdkit release nbgrader` wrote? If so, {run}")
    seen = {key for _, _, key in matched}
    return matched, unmatched, [k for k in lecture.FUNCTIONS if k not in seen]


def _set(grade, auto_score: float, failed: bool) -> None:
    changed = grade.auto_score != auto_score
    grade.auto_score = auto_score
    if grade.manual_score is not None:
        if changed:
            grade.needs_manual_grade = True   # the override was given against another score
    else:
        grade.needs_manual_grade = failed


def write(course, graded) -> Summary:
    """Write `graded`, the batch's [(Submission, record)], into COURSE_DIR's gradebook; the
    scores in one transaction. Raises Error: nothing is written when the gradebook, the assignment
    or its grade cells are wrong (all checked first); a database error later leaves no score
    written, only the students and submissions that nbgrader's API had already added."""
    from nbgrader.api import Gradebook, MissingEntry

    entries = [(sub, rec) for sub, rec in graded if sub.kind == "nbgrader" and sub.path is not None]
    others = len(graded) - len(entries)
    if not entries:
        raise Error("--nbgrader-course: SUBMISSIONS_DIR holds no nbgrader submissions "
                    "(submitted/<student>/<assignment>/)")
    cd = coursedir(course)
    db, path = _where(cd.db_url)
    if path is not None and not path.is_file():
        names = sorted({sub.path.name for sub, _ in entries})
        raise Error(f"no gradebook at {db}: run `nbgrader generate_assignment "
                    f"{' / '.join(names)}` in {cd.root} first")
    summary = Summary(db=db, others=others)
    try:
        with warnings.catch_warnings(), Gradebook(cd.db_url, cd.course_id) as gb:
            # nbgrader 0.9's add_submission makes SQLAlchemy 2 warn "Object of type
            # <SubmittedAssignment> not in session" (autoflush while it builds the rows); harmless
            warnings.filterwarnings("ignore", message=".*not in session", module="nbgrader")
            plans = {}
            for assignment in sorted({sub.path.name for sub, _ in entries}):
                matched, unmatched, missing = _plan(gb, assignment, db, cd.root)
                plans[assignment] = matched
                if unmatched:
                    summary.unmatched[assignment] = unmatched
                if missing:
                    summary.not_in_gradebook[assignment] = missing
            for sub, rec in sorted(entries, key=lambda e: (e[0].path.name, e[0].path.parent.name)):
                student, assignment = sub.path.parent.name, sub.path.name
                failed = rec.get("status") != "graded"
                functions = rec.get("functions") or {}
                gb.update_or_create_student(student)
                stamp = _timestamp(sub.path)
                try:
                    submission = gb.find_submission(assignment, student)
                except MissingEntry:
                    submission = gb.add_submission(assignment, student,
                                                   **({"timestamp": stamp} if stamp else {}))
                else:
                    if stamp:
                        submission.timestamp = stamp
                grades = {(nb.name, g.name): g for nb in submission.notebooks for g in nb.grades}
                for notebook, cell, key in plans[assignment]:
                    grade = grades.get((notebook, cell))
                    if grade is None:
                        grade = gb.find_grade(cell, notebook, assignment, student)
                    _set(grade, 0.0 if failed else cents(functions.get(key, 0)), failed)
                summary.students.append(student)
                if failed:
                    summary.failed.append(student)
            gb.db.commit()
    except MissingEntry as e:
        raise Error(f"the gradebook {db} lacks an entry nbgrader should have made ({e}): "
                    "run `nbgrader generate_assignment` again, or `nbgrader db` to inspect") from None
    except Error:
        raise
    except Exception as e:  # noqa: BLE001 - SQLAlchemy's errors: a locked or broken database
        raise Error(f"could not write into the gradebook {db} ({type(e).__name__}: {e})") from None
    return summary
