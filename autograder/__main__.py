"""python -m autograder: the gdkit command line."""
import sys

from .cli import main

sys.exit(main())
