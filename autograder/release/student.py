"""`gdkit release student DIR`: the repository a student gets (a GitHub Classroom template).

    DIR/
      exercises/                  the stubs (autograder.release.stubs, from solutions/: the one source)
      data/                       the lecture's datasets (Data #0, #1, #2) as CSV
      tests/                      the student's own tests, if they write some
      gdkit/autograder/           the grader's public part, vendored (see below)
      pyproject.toml              `pip install -e .` installs the grader; pytest's configuration
      README.md                   the lecture's steps, how to run, how to read the feedback
      .github/workflows/classroom.yml   gdkit's score, weighted and partial, to GitHub Classroom
      .gitignore

How the student gets gdkit: the release carries a copy of the `autograder` package (the grader's
public part), installed by the release's own pyproject (`pip install -e .` needs only NumPy,
pytest and the build backend: no sympy, no index of ours, no URL that could drift from the
release). A copy pins the exact grader the assignment was released with, works offline and in CI
alike, and is what the Classroom workflow grades with. It leaves out `lecture/derive.py` (sympy, a
build-time tool; its output `gradients.py` stays) and every `__pycache__`.

What the release never holds: solutions/ (nor any solution body's text), the project's tests (the
mistakes corpus holds near-solutions), and hidden checks. The rule for hidden checks:

    A check is public when nothing in the release lets a student pass it without a correct
    function: its expected values are the slides' own worked values (printed in the lecture every
    student has), or are computed at inputs drawn afresh on every run (random, symbolic, and
    `train` on random data; the seed is printed), or it judges behaviour rather than a stored
    answer (contracts, properties, style, training on the lecture's datasets). A hidden check is
    one with fixed inputs whose expected values the lecture does not print (a held-out case): a
    student could copy its answer out of the release. Hidden checks stay out of the student
    release (they belong in the Gradescope zip only).

gdkit has no hidden checks today. `build` enforces the rule: it refuses a check whose kind is not
one of PUBLIC_KINDS, and it refuses a function without a fresh-random check (hard-coded answers
must never reach full marks).
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import autograder
from .. import __version__, lecture
from . import stubs

ROOT = stubs.ROOT
PACKAGE = Path(autograder.__file__).resolve().parent
VENDOR = Path("gdkit") / "autograder"          # where the grader's copy sits in the release
LEFT_OUT = ("lecture/derive.py",)               # relative to the package; needs sympy
PUBLIC_KINDS = frozenset({"worked", "random", "symbolic", "property", "contract", "style",
                          "training"})
FRESH_KINDS = frozenset({"random", "symbolic"})  # inputs drawn afresh on every run


class ReleaseError(Exception):
    """The release cannot be built as asked."""


def public_checks(checks=None) -> list:
    """The checks the student release may carry; raise ReleaseError when the rule is broken."""
    from ..checks import all_checks

    checks = list(all_checks() if checks is None else checks)
    hidden = [c.id for c in checks if c.kind not in PUBLIC_KINDS]
    if hidden:
        raise ReleaseError("hidden checks cannot go into the student release (the release would "
                           f"hand out their answers): {', '.join(hidden)}")
    keys = dict.fromkeys(c.key for c in checks)
    unguarded = [k for k in keys if not any(c.key == k and c.kind in FRESH_KINDS for c in checks)]
    if unguarded:
        raise ReleaseError("every function needs a check at inputs drawn afresh (random or "
                           f"symbolic), or hard-coded answers could earn full marks: {', '.join(unguarded)}")
    return checks


# --------------------------------------------------------------------------- the files

def pyproject() -> str:
    return f'''# The student repository of gdkit's gradient-descent homework (made by `gdkit release student`).
# `python -m pip install -e .` installs the grader (gdkit/autograder, a copy of gdkit {__version__});
# then plain `pytest` grades exercises/ and runs your own tests in tests/.

[build-system]
requires = ["hatchling>=1.18"]
build-backend = "hatchling.build"

[project]
name = "gdkit-homework"
version = "{__version__}"
description = "Linear and logistic regression by one-sample gradient descent: the exercises, graded by gdkit"
requires-python = ">=3.10"
dependencies = [
    "numpy>=1.26",
    "pytest>=7.4",
    "tomli>=2.0; python_version < '3.11'",
]

[project.scripts]
gdkit = "autograder.drivers.cli:main"

[project.entry-points.pytest11]
gdkit = "autograder.drivers.pytest_plugin"

[tool.hatch.build.targets.wheel]
packages = ["{VENDOR.as_posix()}"]

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["."]                 # your tests can `from exercises import linear_regression_numpy`
gdkit_submission = "exercises"     # plain `pytest` also runs gdkit's checks on exercises/
'''


WORKFLOW = r'''# GitHub Classroom autograding: gdkit grades exercises/ and reports its weighted, partial score
# (100 points; made by `gdkit release student`). The stock command grader is all or nothing per
# test; this step reports gdkit's own result instead (a Classroom runner's result, in base64).
name: Autograding Tests
"on":
  - push
  - workflow_dispatch
  - repository_dispatch
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    timeout-minutes: 10
    steps:
      - name: Checkout code
        uses: actions/checkout@v4
      - name: Set up Python
        uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Install the grader
        run: python -m pip install -e .
      - name: Grade with gdkit
        id: gdkit
        run: |
          result="$(mktemp)"
          status=0
          gdkit grade exercises --format classroom --output "$result" --fail-under 100 || status=$?
          if [ ! -s "$result" ]; then
            python -c 'import json, sys; print(json.dumps({"version": 1, "status": "error", "max_score": 100, "tests": [{"name": "gdkit", "status": "error", "score": 0, "message": "the grader did not run (exit code " + sys.argv[1] + "): see the log of this step", "test_code": "gdkit grade exercises", "filename": "", "line_no": 0, "duration": 0}]}))' "$status" > "$result"
          fi
          echo "result=$(base64 -w 0 < "$result")" >> "$GITHUB_OUTPUT"
          exit "$status"
      - name: Show the feedback
        if: failure() && steps.gdkit.outcome == 'failure'
        run: gdkit grade exercises || true
      - name: Autograding Reporter
        if: ${{ !cancelled() }}
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
          GDKIT_RESULTS: "${{ steps.gdkit.outputs.result }}"
        with:
          runners: gdkit
'''

GITIGNORE = """__pycache__/
*.egg-info/
.pytest_cache/
.venv/
venv/
build/
dist/
"""

TESTS_README = """# Your own tests

Put your own tests here, as `test_*.py` files (for instance `tests/test_mine.py`):

```python
from exercises import linear_regression_basic as basic

def test_the_line_of_slide_6():
    assert basic.predict(2.0, 2.0, 2.0) == 6.0
```

Plain `pytest` runs them together with gdkit's checks; `pytest tests/test_mine.py` runs only them.
They do not count towards your score: only gdkit's checks do.
"""


def readme() -> str:
    rubric = lecture.rubric()
    rows = []
    for module in lecture.MODULES:
        for f in module.functions:
            points = rubric[f.key]
            style = f" (of which {float(points.style):g} for style)" if points.style else ""
            rows.append(f"| `{module.name}.py` | `{f.name}` | {f.step} | {f.slide} | "
                        f"{float(points.points):g}{style} |")
    modules = "\n".join(f"- `exercises/{m.name}.py`: {m.title}" for m in lecture.MODULES)
    datasets = "\n".join(f"- `data/{name}.csv`: {title}" for name, title in lecture.DATASETS.items())
    table = "\n".join(rows)
    return f"""# Linear and logistic regression by one-sample gradient descent

Your homework for the lecture: implement every step of gradient descent, one sample at a time,
first for linear regression (in plain Python, then with NumPy), then for logistic regression.
The grader, gdkit, checks each function against the lecture's worked values, against the formulas
at random points, and against the rules the lecture states, and tells you what is right, what is
wrong and why.

## The lecture's five steps (slides 8, 26, 51)

1. Pick a sample (x, y) from the training data.
2. Compute the output ŷ (linear: ŷ = θ·x; logistic: ŷ = σ(θ·x)).
3. Compute the loss (linear: L = (ŷ − y)²; logistic: L = −y log ŷ − (1 − y) log(1 − ŷ)).
4. Compute the derivative ∇θL.
5. Update the parameters: θ ← θ − η ∇θL, with η the learning rate.

`train` repeats them for every sample, in data order, for every epoch.

## What to write

{modules}

Each function is a stub that raises `NotImplementedError`: replace the two lines under
`# YOUR CODE HERE`. Its docstring gives the formula, the slide, the shapes and the points.

| module | function | lecture step | slide | points |
|---|---|---|---|---|
{table}

The basic module must not import NumPy, and the NumPy module's predict, loss, gradient and update
must not loop in Python: that is the style part of their points, earned once the values are right.
The lecture's datasets are in `data/`:

{datasets}

## How to run the checks

```sh
python -m pip install -e .        # once: installs gdkit (a copy is in gdkit/) and pytest
pytest                            # every check is a test; the report ends with your score table
gdkit grade                       # the same checks, as a score table with feedback
```

`pytest -k basic.loss` runs the checks of one function, `pytest -x` stops at the first failure,
`pytest --lf` reruns what failed. Random checks print their seed in the header; `pytest
--gdkit-seed N` (or `gdkit grade --seed N`) replays that run.

Your own tests go in `tests/` (see `tests/README.md`): plain `pytest` runs them too, and
`pytest tests/test_mine.py` runs only yours. They do not change your score.

## How to read the feedback

Every failed check names the slide and the lecture step, the inputs, the expected value and what
your code returned, for instance:

```
linear_regression_numpy.gradient: worked values of slides 6–7
  slide 6: ∇θL must be [-24, -48], got [-12, -24]
  x = [1, 2] ...
  expected: [-24, -48]
  got:      [-12, -24]
  hint: the factor 2 is missing ...
```

- **hint** appears when your answer matches a known mistake.
- Your own traceback and printed output are shown when your code raised or printed.
- "not implemented yet" means the stub is still there.
- The score table gives, per function, the points earned and how many checks passed. Partial
  credit is the share of a function's checks that pass.

Your code runs in a separate, isolated process with a time limit per call (2 s): an endless loop
costs the points of that function only.

## Submitting

Commit and push. GitHub Classroom's autograding (`.github/workflows/classroom.yml`) runs
`gdkit grade` on `exercises/` and records your score out of 100; the run's log shows the
feedback. Do not edit `gdkit/` or the workflow: your score is the grader's, and your instructor
may grade again with their own copy.
"""


# --------------------------------------------------------------------------- building

def _copy_package(target: Path) -> list[Path]:
    """The grader's public part: the package, its data, without LEFT_OUT and __pycache__."""
    written = []
    for source in sorted(PACKAGE.rglob("*")):
        relative = source.relative_to(PACKAGE)
        if ("__pycache__" in relative.parts or source.suffix == ".pyc"
                or relative.as_posix() in LEFT_OUT or relative.parts[0] == "data"):
            continue
        if source.is_file():
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)
            written.append(destination)
    for source in sorted(lecture.data_dir().iterdir()):     # rubric, worked values, datasets
        if source.is_file():
            destination = target / "data" / source.name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)
            written.append(destination)
    return written


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def build(target, *, root=ROOT, force=False) -> list[Path]:
    """Write the student repository into `target` (new or empty, unless `force`); return the
    paths written."""
    target = Path(target)
    solutions = Path(root) / "solutions"
    if not solutions.is_dir():
        raise ReleaseError(f"{solutions} is missing: the release is built from gdkit's repository")
    if target.exists() and any(target.iterdir()) and not force:
        raise ReleaseError(f"{target} is not empty (use --force to write into it)")
    public_checks()
    written = stubs.build(solutions, target / "exercises")
    for csv in sorted(lecture.data_dir().glob("*.csv")):
        destination = target / "data" / csv.name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(csv, destination)
        written.append(destination)
    written += _copy_package(target / VENDOR)
    written.append(_write(target / "pyproject.toml", pyproject()))
    written.append(_write(target / "README.md", readme()))
    written.append(_write(target / "tests" / "README.md", TESTS_README))
    written.append(_write(target / ".github" / "workflows" / "classroom.yml", WORKFLOW))
    written.append(_write(target / ".gitignore", GITIGNORE))
    return written


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="gdkit release student", description=__doc__.splitlines()[0])
    add_arguments(p)
    return run(p.parse_args(argv))


def add_arguments(p: argparse.ArgumentParser):
    p.add_argument("directory", help="where to write the student repository (new or empty)")
    p.add_argument("--force", action="store_true", help="write into a folder that is not empty")


def run(args) -> int:
    try:
        written = build(args.directory, force=args.force)
    except ReleaseError as e:
        print(f"gdkit release student: {e}", file=sys.stderr)
        return 2
    print(f"gdkit release student: wrote {len(written)} files to {args.directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
