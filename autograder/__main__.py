"""python -P -m autograder: the gdkit command line.

Under plain `python -m`, Python puts the current folder first on sys.path; run from inside a
submission, that folder's own modules (a numpy.py, even an autograder/ package) would be imported
in place of the grader's. `gdkit` and `python -P -m autograder` never put it there; when it is
there all the same, it is dropped here before anything else is imported.
"""
import os
import sys

if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from autograder.drivers.cli import main  # noqa: E402

sys.exit(main())
