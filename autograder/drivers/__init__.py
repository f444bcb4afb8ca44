"""The ways in: `gdkit grade` (cli.py) and `pytest --gdkit` (pytest_plugin.py). Each builds a
Policy, runs checks through engine.grader and renders the Report with formats/."""
