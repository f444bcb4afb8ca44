"""The command line: `gdkit grade [SUBMISSION]` (also `python -P -m autograder grade`)."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from .. import __version__
from ..engine import policy
from ..formats import RENDERERS

EXIT_OK, EXIT_BELOW, EXIT_ERROR = 0, 1, 2


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gdkit", description=(
        "Grade gradient-descent homework against the lecture (datasets, worked values, sympy "
        "gradients, contracts). Student code runs in an isolated worker process."))
    p.add_argument("--version", action="version", version=f"gdkit {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade one submission folder")
    g.add_argument("submission", nargs="?", default="exercises",
                   help="folder holding the student modules (default: exercises/)")
    g.add_argument("--format", choices=sorted(RENDERERS), default="text", help="report format (default: text)")
    g.add_argument("--output", "-o", metavar="FILE", help="write the report here instead of stdout")
    g.add_argument("--seed", type=int, help="seed of the random checks (printed; replays a run)")
    g.add_argument("--only", metavar="PATTERN",
                   help="only checks of matching module.function (glob, comma-separated)")
    g.add_argument("--fail-under", type=float, metavar="PERCENT",
                   help="exit 1 when the score is below this percentage")
    g.add_argument("--isolation", choices=policy.CHOICES, default="auto", help=policy.ISOLATION_HELP)
    g.add_argument("--timeout", type=float, default=policy.TIMEOUT, help=policy.TIMEOUT_HELP)
    g.add_argument("--budget", type=float, default=policy.BUDGET, help=policy.BUDGET_HELP)
    # `gdkit release TARGET ...`: one sub-subcommand per target (nbgrader | student | gradescope);
    # each sets `run`, the function that main() calls with the parsed arguments
    release = sub.add_parser("release", help="build what a course platform or the students get "
                                               "from solutions/")
    targets = release.add_subparsers(dest="target", required=True, metavar="TARGET")
    nb = targets.add_parser("nbgrader", help="write an nbgrader course: nbgrader_config.py, "
                                             "source/<assignment>/*.ipynb and their data files")
    nb.add_argument("course_dir", metavar="COURSE_DIR", help="the course folder (created if need be)")
    nb.add_argument("--assignment", default="gd_regression",
                    help="the assignment's name (default: gd_regression)")
    nb.set_defaults(run=release_nbgrader)
    st = targets.add_parser("student", help="write the students' repository (a GitHub Classroom "
                                            "template): stubs, data, README, pytest set-up, workflow")
    st.add_argument("directory", metavar="DIR", help="where to write it (a new or empty folder)")
    st.add_argument("--force", action="store_true", help="write into a folder that is not empty")
    st.set_defaults(run=release_student)
    gs = targets.add_parser("gradescope", help="write Gradescope's autograder zip (setup.sh, "
                                               "run_autograder, the grader)")
    gs.add_argument("zip", metavar="ZIP", help="the zip file to write")
    gs.set_defaults(run=release_gradescope)
    b = sub.add_parser("grade-batch", help="grade a class: every submission in a folder (folders, "
                                           "zips, notebooks, nbgrader's submitted/), with a "
                                           "gradebook, feedback files and a class report")
    b.add_argument("submissions", metavar="SUBMISSIONS_DIR", help="the folder of submissions")
    b.add_argument("--output-dir", "-o", required=True, metavar="OUT",
                   help="where the gradebook, feedback/, results/ and the class report go; "
                        "running again into the same OUT resumes")
    b.add_argument("--jobs", "-j", type=int, default=2 * (os.cpu_count() or 1),
                   help="submissions graded at once (default: twice the number of CPUs: a "
                        "grading process waits on its worker about half the time)")
    b.add_argument("--seed", type=int, help="seed of the random checks, the same for every "
                                            "submission (default: a new one, kept in OUT)")
    b.add_argument("--shard", metavar="K/N", help="grade only the K-th of N slices (by sorted name)")
    b.add_argument("--assignment", help="in nbgrader's submitted/<student>/<assignment>/: the "
                                        "assignment (default: each student's only one)")
    b.add_argument("--nbgrader-course", metavar="COURSE_DIR",
                   help="then write the scores of nbgrader's submitted/<student>/<assignment>/ "
                        "into this course's gradebook (nbgrader's API: each grade cell's "
                        "auto_score, by its grade_id; the course's db_url). Run `nbgrader "
                        "generate_assignment` there first; needs nbgrader (docs/batch.md)")
    b.add_argument("--isolation", choices=policy.CHOICES, default="auto", help=policy.ISOLATION_HELP)
    b.add_argument("--timeout", type=float, default=policy.TIMEOUT, help=policy.TIMEOUT_HELP)
    b.add_argument("--budget", type=float, default=policy.BUDGET, help=policy.BUDGET_HELP)
    b.add_argument("--child-timeout", type=float, metavar="SECONDS",
                   help="wall-clock limit of one submission's grading process (default: the "
                        "budget + 4 timeouts + 30 s)")
    b.set_defaults(run=grade_batch)
    m = sub.add_parser("merge", help="join the outputs of grade-batch --shard runs into one "
                                     "gradebook and class report")
    m.add_argument("outputs", nargs="+", metavar="OUT", help="the shards' output folders")
    m.add_argument("--output-dir", "-o", required=True, metavar="DIR", help="where to write")
    m.set_defaults(run=merge_batch)
    return p


def grade_batch(args) -> int:
    from . import batch

    return batch.run(args)


def merge_batch(args) -> int:
    from . import batch

    return batch.merge(args)


def release_nbgrader(args) -> int:
    from ..release import nbgrader

    try:
        written = nbgrader.build(args.course_dir, assignment=args.assignment)
    except (OSError, ValueError) as e:
        return error(f"error: {e}")
    for path in written:
        print(f"wrote {path}")
    print(f"next: cd {args.course_dir} && nbgrader generate_assignment {args.assignment}")
    return EXIT_OK


def release_student(args) -> int:
    from ..release import student   # imported here: the release builders need gdkit's repository

    return student.run(args)


def release_gradescope(args) -> int:
    from ..release import gradescope

    return gradescope.run(args)


def write(text: str, output: str | None):
    """Write the report atomically: a reader never sees half a file."""
    if not output:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, target)


def error(message: str) -> int:
    print(f"gdkit: {message}", file=sys.stderr)
    return EXIT_ERROR


def main(argv=None) -> int:
    from .. import sandbox

    sandbox.install_signal_handlers()   # a SIGTERM or Ctrl-C still removes stages and leases
    args = parser().parse_args(argv)
    if getattr(args, "run", None) is not None:   # a subcommand with its own function
        return args.run(args)
    submission = Path(args.submission)
    if not submission.is_dir():
        return error(f"error: {submission} is not a folder (a submission is a folder holding "
                     "linear_regression_basic.py, linear_regression_numpy.py, logistic_regression.py)")
    try:
        chosen = policy.Policy(timeout=args.timeout, budget=args.budget, layer=args.isolation)
    except ValueError as e:
        return error(f"error: {e}")
    if chosen.required and sandbox.unavailable(chosen.required):
        return error(f"error: isolation layer {chosen.required!r} was required but is unavailable "
                     f"here: {sandbox.unavailable(chosen.required)}")
    from ..engine.workers import WorkerFault, Workers

    workers = None
    try:
        workers = Workers(submission, chosen)   # it starts while NumPy and the checks load
        from ..engine.grader import grade

        report = grade(submission, seed=args.seed, only=args.only, policy=chosen, workers=workers)
    except WorkerFault as e:
        return error(f"grader fault: {e}")
    finally:
        if workers is not None:
            workers.close()
    if not report.checks:
        return error(f"error: no check matches --only {args.only!r}")
    write(RENDERERS[args.format](report), args.output)
    if args.output and args.format != "text":
        sys.stderr.write(f"gdkit: score {float(report.score):g}/{float(report.max_score):g}, "
                         f"report written to {args.output}\n")
    if report.faults:
        return error(f"grader fault in {len(report.faults)} check(s); the report lists them")
    if args.fail_under is not None and report.percent < args.fail_under:
        return EXIT_BELOW
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
