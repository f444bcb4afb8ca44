"""Shared fixtures: pytester for the plugin's tests, and graded reports of the reference folders."""
import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def solutions_report():
    from autograder.engine.grader import grade

    return grade(ROOT / "solutions", seed=7)


@pytest.fixture(scope="session")
def exercises_report():
    from autograder.engine.grader import grade

    return grade(ROOT / "exercises", seed=7)


@pytest.fixture
def submission(tmp_path):
    """A copy of solutions/ to break on purpose."""
    folder = tmp_path / "submission"
    shutil.copytree(ROOT / "solutions", folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder
