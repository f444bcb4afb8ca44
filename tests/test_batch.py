"""gdkit grade-batch and gdkit merge on a generated class of 13 submissions: folders (solutions,
stubs, three corpus mistakes, an endless loop, a syntax error, an empty folder), zips (one good,
one unreadable), notebooks (one holding all three modules, one that is not JSON) and an nbgrader
submitted/ tree. One uninterrupted run is the reference; an interrupted and resumed run, and two
shards merged, must end with the same gradebook."""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from autograder import lecture
from autograder.drivers import submissions as subs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from corpus.build import MODULES, build  # noqa: E402
from corpus.mistakes import MISTAKES  # noqa: E402

SEED = 11
OPTIONS = ["--seed", str(SEED), "--jobs", "2"]
CHOSEN = {m.id: m for m in MISTAKES if m.id in (
    "basic-loss-not-squared", "numpy-gradient-no-factor-2", "logistic-sigmoid-plus-z")}
HANG = "def predict(x, theta):\n    while True:\n        pass\n"
RUBRIC = {k: float(p.points) for k, p in lecture.rubric().items()}


def notebook(cells) -> dict:
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": kind, "metadata": {}, "source": text, **(
            {"outputs": [], "execution_count": None} if kind == "code" else {})}
        for kind, text in cells]}


def make_class(root: Path) -> Path:
    root.mkdir(parents=True)
    shutil.copytree(ROOT / "solutions", root / "sol", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "exercises", root / "stub", ignore=shutil.ignore_patterns("__pycache__"))
    for mid, m in CHOSEN.items():
        build(root / f"mistake-{mid}", functions={(m.module, m.function): m.code})
    build(root / "hang", functions={("linear_regression_numpy", "predict"): HANG})
    build(root / "syntax")
    path = root / "syntax" / "logistic_regression.py"
    path.write_text(path.read_text() + "\ndef broken(:\n    pass\n")
    (root / "empty").mkdir()
    with zipfile.ZipFile(root / "zipped.zip", "w") as z:
        for m in MODULES:
            z.write(ROOT / "solutions" / f"{m}.py", f"zipped/{m}.py")
    (root / "badzip.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    (root / "notjson.ipynb").write_text("{ not json")
    cells = [("code", "import numpy as np")]
    for m in MODULES:
        cells += [("markdown", f"## {m}"), ("code", (ROOT / "solutions" / f"{m}.py").read_text())]
    (root / "nb.ipynb").write_text(json.dumps(notebook(cells)))
    # nbgrader's submitted/<student>/<assignment>/: the released notebooks hold the solutions
    course = root.parent / "course"
    subprocess.run([sys.executable, "-P", "-m", "autograder", "release", "nbgrader", str(course)],
                   check=True, capture_output=True)
    shutil.copytree(course / "source" / "gd_regression", root / "submitted" / "nbstudent" / "gd_regression")
    return root


def batch(*args, check=True, **kwargs):
    env = {**os.environ, "NO_COLOR": "1"}
    p = subprocess.run([sys.executable, "-P", "-m", "autograder", *args], capture_output=True,
                       text=True, env=env, timeout=600, **kwargs)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def rows(out: Path) -> dict:
    with open(out / "gradebook.csv", newline="") as f:
        return {r["name"]: r for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    return make_class(tmp_path_factory.mktemp("batch") / "class")


@pytest.fixture(scope="module")
def reference(klass, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "out"
    started = time.monotonic()
    p = batch("grade-batch", str(klass), "--output-dir", str(out), *OPTIONS)
    return out, p, time.monotonic() - started


def test_discovery_names_every_kind_of_submission(klass):
    found, skipped = subs.discover(klass)
    kinds = {s.name: s.kind for s in found}
    assert kinds["sol"] == "folder" and kinds["zipped"] == "zip" and kinds["badzip"] == "zip"
    assert kinds["nb"] == "notebook" and kinds["notjson"] == "notebook"
    assert kinds["nbstudent"] == "nbgrader" and "submitted" not in kinds
    assert len(found) == 13 and not skipped
    slices = [[s.name for s in subs.shard(found, k, 3)] for k in (1, 2, 3)]
    assert all(slices) and sorted(sum(slices, [])) == sorted(kinds)
    assert slices == [[s.name for s in subs.shard(list(reversed(found)), k, 3)] for k in (1, 2, 3)]


def test_gradebook_scores_each_submission_for_what_it_did(reference):
    out, _, _ = reference
    book = rows(out)
    header = next(csv.reader(open(out / "gradebook.csv")))
    assert header[0] == "name" and header[1:18] == list(lecture.FUNCTIONS) and header[18] == "total"
    assert len(book) == 13
    for name in ("sol", "zipped", "nb", "nbstudent"):
        assert float(book[name]["total"]) == 100, (name, book[name])
        assert book[name]["status"] == "graded" and not book[name]["error"]
    assert float(book["stub"]["total"]) == 0 and book["stub"]["status"] == "graded"
    for mid, m in CHOSEN.items():
        row = book[f"mistake-{mid}"]
        key = f"{m.module}.{m.function}"
        assert float(row[key]) < RUBRIC[key], (mid, row[key])
        lost = {k for k in RUBRIC if float(row[k]) < RUBRIC[k]}
        assert lost <= {key} | {f"{m.module}.{f}" for f in m.cascade}, (mid, lost)
    hang = book["hang"]
    assert float(hang["linear_regression_numpy.predict"]) == 0 and "timed out" in hang["error"]
    assert all(float(hang[k]) == RUBRIC[k] for k in RUBRIC if not k.startswith("linear_regression_numpy"))
    syntax = book["syntax"]
    assert "SyntaxError" in syntax["error"] and syntax["status"] == "graded"
    assert all(float(syntax[k]) == 0 for k in RUBRIC if k.startswith("logistic_regression."))
    assert all(float(syntax[k]) == RUBRIC[k] for k in RUBRIC if not k.startswith("logistic_regression."))
    for name, reason in (("badzip", "unreadable zip"), ("empty", "empty"), ("notjson", "not JSON")):
        assert book[name]["status"] == "failed" and reason in book[name]["error"], book[name]
        assert float(book[name]["total"]) == 0
    doc = json.loads((out / "gradebook.json").read_text())
    assert doc["seed"] == SEED and [s["name"] for s in doc["submissions"]] == sorted(book)
    assert {s["name"]: s["total"] for s in doc["submissions"]} == {
        n: float(r["total"]) for n, r in book.items()}


def test_hangs_are_bounded_and_the_log_counts_progress(reference):
    _, p, seconds = reference
    assert seconds < 120
    assert "graded 1" in p.stderr and "remaining 0" in p.stderr and "\x1b[" not in p.stderr


def test_feedback_files_are_rendered_from_the_report_and_escaped(reference, klass, tmp_path):
    out, _, _ = reference
    for name in rows(out):
        assert (out / "feedback" / f"{name}.md").is_file() and (out / "feedback" / f"{name}.html").is_file()
    md = (out / "feedback" / "mistake-basic-loss-not-squared.md").read_text()
    assert "linear\\_regression\\_basic.loss" in md and "slide" in md and "Hint" in md
    html = (out / "feedback" / "mistake-basic-loss-not-squared.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "Hint:" in html
    assert "unreadable zip" in (out / "feedback" / "badzip.html").read_text()
    # student text reaches the HTML escaped
    evil = build(tmp_path / "cls" / "evil", functions={("linear_regression_basic", "loss"):
                 "def loss(y_hat, y):\n    raise ValueError('<script>alert(1)</script>')\n"})
    batch("grade-batch", str(evil.parent), "--output-dir", str(tmp_path / "o"), *OPTIONS)
    page = (tmp_path / "o" / "feedback" / "evil.html").read_text()
    assert "&lt;script&gt;" in page and "<script>" not in page


def test_class_report_has_distribution_failed_checks_and_mistakes(reference):
    out, _, _ = reference
    md = (out / "class-report.md").read_text()
    assert "13 submissions: 10 graded, 3 could not be graded" in md
    assert "Score distribution" in md and "90–100 |" in md
    assert "Most common diagnosed mistakes" in md and "re-teach slide" in md
    table = md.split("Most common diagnosed mistakes")[1].replace("\\", "")
    for m in CHOSEN.values():   # each mistake's hint, with its function, once in the class
        assert m.hint and m.hint in table and f"`{m.module}.{m.function}`" in table, m.id
    html = (out / "class-report.html").read_text()
    assert "<h2>Most common diagnosed mistakes</h2>" in html and "badzip" in html


def _wait_for_records(out: Path, n: int, proc, limit=120):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list((out / "results").glob("*.json"))) >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {n} records before the batch ended")


def _work_dirs():
    return set(Path(os.environ.get("TMPDIR", "/tmp")).glob("gdkit-batch-*"))


def _work_of(out: Path) -> Path:
    """The work folder the last run into `out` recorded (in batch.json, while it ran): this run's
    own, whatever other batches run on the machine."""
    return Path(json.loads((out / "batch.json").read_text())["work"])


def test_resume_after_sigterm_and_sigkill_ends_with_the_same_gradebook(reference, klass, tmp_path):
    out = tmp_path / "out"
    args = [sys.executable, "-P", "-m", "autograder", "grade-batch", str(klass), "--output-dir",
            str(out), *OPTIONS]
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env)
    _wait_for_records(out, 3, proc)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    assert not _work_of(out).exists(), "a SIGTERM left a work folder behind"
    first = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (out / "results").glob("*.json")}
    assert 3 <= len(first) < 13 and not (out / "gradebook.csv").exists()
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env)
    _wait_for_records(out, len(first) + 2, proc)
    proc.kill()
    proc.wait(timeout=30)
    killed = _work_of(out)
    assert killed.exists()   # a SIGKILL cleans nothing: the next run must
    second = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (out / "results").glob("*.json")}
    assert len(second) < 13
    p = batch("grade-batch", str(klass), "--output-dir", str(out), *OPTIONS)
    assert f"{len(second)} of 13 submissions already graded" in p.stderr
    final = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (out / "results").glob("*.json")}
    assert all(final[name] == stamp for name, stamp in second.items()), "a graded one was regraded"
    assert all(second[name] == stamp for name, stamp in first.items())
    assert (out / "gradebook.csv").read_text() == (reference[0] / "gradebook.csv").read_text()
    assert (out / "gradebook.json").read_text() == (reference[0] / "gradebook.json").read_text()
    assert not killed.exists(), "the SIGKILLed run's work folder was not cleaned"


def test_shards_merged_equal_the_unsharded_run(reference, klass, tmp_path):
    outs = []
    for k in (1, 2):
        outs.append(tmp_path / f"shard{k}")
        batch("grade-batch", str(klass), "--output-dir", str(outs[-1]), "--shard", f"{k}/2", *OPTIONS)
    assert 0 < len(rows(outs[0])) < 13 and len(rows(outs[0])) + len(rows(outs[1])) == 13
    merged = tmp_path / "merged"
    batch("merge", *map(str, outs), "--output-dir", str(merged))
    for name in ("gradebook.csv", "gradebook.json", "class-report.md", "class-report.html"):
        assert (merged / name).read_text() == (reference[0] / name).read_text(), name
    assert sorted(p.name for p in (merged / "feedback").iterdir()) == sorted(
        p.name for p in (reference[0] / "feedback").iterdir())


def test_a_child_over_its_wall_clock_limit_is_killed_and_reported(tmp_path):
    build(tmp_path / "cls" / "slow", functions={("linear_regression_numpy", "predict"): HANG})
    before = _work_dirs()
    started = time.monotonic()
    batch("grade-batch", str(tmp_path / "cls"), "--output-dir", str(tmp_path / "o"), "--seed", "1",
          "--timeout", "2", "--child-timeout", "1.5")
    assert time.monotonic() - started < 30
    row = rows(tmp_path / "o")["slow"]
    assert row["status"] == "failed" and "wall-clock limit" in row["error"]
    assert not [d for d in _work_dirs() - before if d.exists()]
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True)
    assert leftovers.stdout.strip() == "", leftovers.stdout
