"""gdkit's grading engine: checks for the lecture's gradient-descent homework, run in an isolated worker."""

__version__ = "0.1.0"
