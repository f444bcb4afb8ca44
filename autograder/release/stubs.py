"""Generate the students' stubs in exercises/ from the reference solutions in solutions/.

Each `### BEGIN SOLUTION ... ### END SOLUTION` region (nbgrader's markers) is replaced,
at the same indentation, by

    # YOUR CODE HERE
    raise NotImplementedError("<function>: not implemented yet")

and everything else (docstrings, imports, comments) is kept byte for byte.

    python -m autograder.release.stubs           # regenerate exercises/
    python -m autograder.release.stubs --check   # exit 1 if exercises/ drifted from solutions/
"""

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
STUB = ('{indent}# YOUR CODE HERE{eol}'
        '{indent}raise NotImplementedError("{name}: not implemented yet"){eol}')
REGENERATE = "python -m autograder.release.stubs"


def _enclosing_function(tree, lineno):
    """Return the name of the innermost def that contains line `lineno` (1-based), or None."""
    name, start = None, 0
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.lineno <= lineno <= node.end_lineno and node.lineno > start:
                name, start = node.name, node.lineno
    return name


def make_stub(source: str, module: str) -> str:
    """Return `source` with each solution region replaced by a stub raising NotImplementedError.

    `module` only names the source in error messages. Raises ValueError when the markers are
    unbalanced (an END without a BEGIN, a BEGIN inside a region, a BEGIN never closed) or when a
    region lies outside a function.
    """
    try:
        tree = ast.parse(source, filename=module)
    except SyntaxError as error:
        raise ValueError(f"{module}: not valid Python: {error}") from error
    lines = source.splitlines(keepends=True)
    out, begin = [], None  # begin: the 1-based line number of the open BEGIN marker
    for lineno, line in enumerate(lines, start=1):
        marker = line.strip()
        if marker == BEGIN:
            if begin is not None:
                raise ValueError(f"{module}:{lineno}: {BEGIN!r} inside the region opened at line "
                                 f"{begin}; close it with {END!r} first")
            begin = lineno
        elif marker == END:
            if begin is None:
                raise ValueError(f"{module}:{lineno}: {END!r} without a {BEGIN!r} before it")
            name = _enclosing_function(tree, begin)
            if name is None:
                raise ValueError(f"{module}:{begin}: solution region outside a function")
            opening = lines[begin - 1]
            indent = opening[: len(opening) - len(opening.lstrip())]
            eol = line[len(line.rstrip("\r\n")):] or "\n"
            out.append(STUB.format(indent=indent, name=name, eol=eol))
            begin = None
        elif begin is None:
            out.append(line)
    if begin is not None:
        raise ValueError(f"{module}:{begin}: {BEGIN!r} is never closed by {END!r}")
    return "".join(out)


def _modules(solutions_dir):
    """The solution modules: every .py file in solutions_dir, except private ones (_*.py)."""
    return sorted(p for p in Path(solutions_dir).glob("*.py") if not p.name.startswith("_"))


def build(solutions_dir, exercises_dir):
    """Write exercises_dir/<module>.py for each solutions module; return the paths written."""
    exercises_dir = Path(exercises_dir)
    exercises_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for solution in _modules(solutions_dir):
        stub = make_stub(solution.read_bytes().decode("utf-8"), solution.name)
        target = exercises_dir / solution.name
        target.write_bytes(stub.encode("utf-8"))
        written.append(target)
    return written


def check(solutions_dir, exercises_dir):
    """Return the exercise files that are missing or differ from make_stub of their solution."""
    drifted = []
    for solution in _modules(solutions_dir):
        stub = make_stub(solution.read_bytes().decode("utf-8"), solution.name)
        target = Path(exercises_dir) / solution.name
        if not target.is_file() or target.read_bytes().decode("utf-8") != stub:
            drifted.append(target)
    return drifted


def main(argv=None, root=ROOT):
    """Regenerate root/exercises/ from root/solutions/, or --check it; return the exit code."""
    parser = argparse.ArgumentParser(prog=REGENERATE, description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 and name the files that drifted")
    args = parser.parse_args(argv)
    solutions_dir, exercises_dir = Path(root) / "solutions", Path(root) / "exercises"
    if args.check:
        drifted = check(solutions_dir, exercises_dir)
        for path in drifted:
            print(f"{path.relative_to(root)} is out of date with solutions/{path.name}",
                  file=sys.stderr)
        if drifted:
            print(f"run `{REGENERATE}` to regenerate exercises/", file=sys.stderr)
            return 1
        print("exercises/ is up to date with solutions/")
        return 0
    for path in build(solutions_dir, exercises_dir):
        print(f"wrote {path.relative_to(root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
