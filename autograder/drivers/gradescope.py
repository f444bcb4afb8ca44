"""Gradescope's side of the zip (`gdkit release gradescope`): grade ROOT/submission, and always
leave a valid ROOT/results/results.json.

    python -s -m autograder.drivers.gradescope [--root /autograder]

run_autograder calls this as root, from the zip's copy of the grader (ROOT/source/gdkit). ROOT is
--root, else $AUTOGRADER_ROOT, else /autograder. What it does:

- finds the student modules in ROOT/submission: at its top (files uploaded one by one), or in the
  shallowest folder that holds them (a zip with a folder in it, or the student's GitHub repository
  with exercises/ in it); with none found, it grades the top (every function scores 0 and says why);
- runs the student's code under a sandbox layer: as root it requires one (bwrap, else uid: a uid of
  the worker's own that cannot read the grader) and refuses to grade without it; $GDKIT_ISOLATION
  names a layer instead;
- writes the grader's Gradescope results (one test per check), with the folder and the layer said in
  the output; if anything fails, a results.json with score 0 and the error in its output instead.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

DEFAULT_ROOT = "/autograder"
MODULES = ("linear_regression_basic.py", "linear_regression_numpy.py", "logistic_regression.py")
DEPTH = 4   # how deep the student modules are looked for in the submission


class Refused(Exception):
    """The submission is not graded (and the student is told why)."""


def find_submission(folder: Path) -> Path:
    """The folder holding the most student modules, the shallowest first; `folder` if none."""
    best, best_count, level = folder, sum((folder / m).is_file() for m in MODULES), [folder]
    for _ in range(DEPTH):
        if best_count:
            return best
        below = []
        for parent in level:
            try:
                children = sorted(p for p in parent.iterdir() if p.is_dir() and not p.is_symlink()
                                  and not p.name.startswith((".", "__")))
            except OSError:
                continue
            below += children
        for candidate in below:
            count = sum((candidate / m).is_file() for m in MODULES)
            if count > best_count:
                best, best_count = candidate, count
        level = below
    return best


def choose_layer(*, euid=None, strongest=None) -> str:
    """The layer to grade under: $GDKIT_ISOLATION, else the strongest that works; as root, never
    the plain process (the student's code would run as root, able to read the grader)."""
    named = os.environ.get("GDKIT_ISOLATION")
    if named:
        return named
    if strongest is None:
        from .. import sandbox

        strongest = sandbox.strongest
    layer = strongest()
    if (os.geteuid() if euid is None else euid) == 0 and layer == "process":
        from .. import sandbox

        raise Refused("no sandbox layer works here (bwrap: {}; uid: {}), and the student's code "
                      "must not run as root; install bubblewrap (setup.sh does)".format(
                          sandbox.unavailable("bwrap"), sandbox.unavailable("uid")))
    return layer


def fallback(error: str, seconds: float) -> dict:
    """A valid results.json for a submission that could not be graded."""
    message = ("The autograder could not grade this submission, so it scores 0 for now: "
               f"{error}\nPlease tell your instructor; this is not a verdict on your code.")
    return {"score": 0, "execution_time": round(seconds, 3), "output": message,
            "output_format": "text", "visibility": "visible", "stdout_visibility": "visible",
            "tests": [{"name": "gdkit: grading", "score": 0, "max_score": 100, "status": "failed",
                       "output": message, "visibility": "visible"}],
            "extra_data": {"error": error}}


def write_json(path: Path, doc: dict):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def grade(root: Path) -> int:
    """Grade ROOT/submission into ROOT/results/results.json; always leaves a valid file there."""
    t0 = time.monotonic()
    results = root / "results" / "results.json"
    try:
        submission_root = root / "submission"
        if not submission_root.is_dir():
            raise Refused(f"there is no submission folder ({submission_root})")
        submission = find_submission(submission_root)
        layer = choose_layer()
        from . import cli

        if results.exists():
            results.unlink()
        code = cli.main([
            "grade", str(submission), "--format", "gradescope", "--output", str(results),
            "--isolation", layer])
        doc = json.loads(results.read_text(encoding="utf-8"))   # what Gradescope will read
        if not isinstance(doc, dict) or not isinstance(doc.get("tests"), list):
            raise ValueError("the grader wrote results that are not Gradescope's format")
        where = submission.relative_to(submission_root).as_posix()
        doc["output"] = (f"graded: submission/{'' if where == '.' else where + '/'} "
                         f"(isolation: {layer})\n\n" + doc.get("output", ""))
        if code == 2:
            doc["output"] += "\nnote: the grader had a fault in some checks; they score 0 for now"
        write_json(results, doc)
        return 0
    except BaseException as e:   # noqa: BLE001: whatever happened, Gradescope gets valid JSON
        error = str(e) if isinstance(e, Refused) else "".join(
            traceback.format_exception_only(type(e), e)).strip()
        print(f"gdkit (gradescope): {error}", file=sys.stderr)
        if not isinstance(e, Refused):
            traceback.print_exc()
        write_json(results, fallback(error, time.monotonic() - t0))
        return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -s -m autograder.drivers.gradescope",
                                description=__doc__.splitlines()[0])
    p.add_argument("--root", default=None,
                   help=f"Gradescope's root (default: $AUTOGRADER_ROOT, else {DEFAULT_ROOT})")
    args = p.parse_args(argv)
    return grade(Path(args.root or os.environ.get("AUTOGRADER_ROOT") or DEFAULT_ROOT))


if __name__ == "__main__":
    sys.exit(main())
