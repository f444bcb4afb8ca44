"""The command line: `gdkit grade [SUBMISSION]` (also `python -m autograder grade`)."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from . import __version__, isolation
from .formats import RENDERERS
from .runner import BUDGET, TIMEOUT, grade
from .session import WorkerFault

EXIT_OK, EXIT_BELOW, EXIT_ERROR = 0, 1, 2
LAYER_CHOICES = ("auto", "strict", *isolation.LAYERS)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gdkit", description=(
        "Grade gradient-descent homework against the lecture (datasets, worked values, sympy "
        "gradients, contracts). Student code runs in an isolated worker process."))
    p.add_argument("--version", action="version", version=f"gdkit {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade one submission folder")
    g.add_argument("submission", nargs="?", default="exercises",
                   help="folder holding the student modules (default: exercises/)")
    g.add_argument("--format", choices=sorted(RENDERERS), default="text",
                   help="report format (default: text)")
    g.add_argument("--output", "-o", metavar="FILE", help="write the report here instead of stdout")
    g.add_argument("--seed", type=int, help="seed of the random checks (printed; replays a run)")
    g.add_argument("--only", metavar="PATTERN",
                   help="only checks of matching module.function (glob, comma-separated)")
    g.add_argument("--fail-under", type=float, metavar="PERCENT",
                   help="exit 1 when the score is below this percentage")
    g.add_argument("--isolation", choices=LAYER_CHOICES, default="auto",
                   help="isolation layer: auto picks the strongest that works; naming a layer "
                        "(strict = bwrap) refuses to grade without it")
    g.add_argument("--timeout", type=float, default=TIMEOUT, help=f"seconds per call (default {TIMEOUT:g})")
    g.add_argument("--budget", type=float, default=BUDGET,
                   help=f"seconds for all calls of the submission (default {BUDGET:g})")
    return p


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


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    submission = Path(args.submission)
    if not submission.is_dir():
        print(f"gdkit: error: {submission} is not a folder (a submission is a folder holding "
              "linear_regression_basic.py, linear_regression_numpy.py, logistic_regression.py)",
              file=sys.stderr)
        return EXIT_ERROR
    layer = "bwrap" if args.isolation == "strict" else args.isolation
    if layer != "auto" and isolation.unavailable(layer):
        print(f"gdkit: error: isolation layer {layer!r} was required but is unavailable here: "
              f"{isolation.unavailable(layer)}", file=sys.stderr)
        return EXIT_ERROR
    try:
        report = grade(submission, seed=args.seed, only=args.only, layer=layer,
                       timeout=args.timeout, budget=args.budget)
    except WorkerFault as e:
        print(f"gdkit: grader fault: {e}", file=sys.stderr)
        return EXIT_ERROR
    if not report.checks:
        print(f"gdkit: error: no check matches --only {args.only!r}", file=sys.stderr)
        return EXIT_ERROR
    write(RENDERERS[args.format](report), args.output)
    if args.output and args.format != "text":
        sys.stderr.write(f"gdkit: score {float(report.score):g}/{float(report.max_score):g}, "
                         f"report written to {args.output}\n")
    if report.faults:
        print(f"gdkit: grader fault in {len(report.faults)} check(s); the report lists them",
              file=sys.stderr)
        return EXIT_ERROR
    if args.fail_under is not None and report.percent < args.fail_under:
        return EXIT_BELOW
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
