"""Every format renders the one Report: points that add up exactly, and student text made safe."""
from __future__ import annotations

import json
import re
import sys
import unicodedata
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import pytest

from autograder import lecture
from autograder.engine.grader import grade
from autograder.formats import RENDERERS
from autograder.formats.sanitize import clean

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from corpus.build import build  # noqa: E402

RUBRIC = {key: Decimal(str(p.points)) for key, p in lecture.rubric().items()}


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The solutions, the stubs, and a mistake in one function (5 points split over 6 checks)."""
    wrong = build(tmp_path_factory.mktemp("sub") / "wrong", functions={
        ("linear_regression_basic", "loss"): "def loss(y_hat, y):\n    return abs(y_hat - y)\n"})
    return {name: grade(folder, seed=5, layer="process") for name, folder in (
        ("solutions", ROOT / "solutions"), ("stubs", ROOT / "exercises"), ("mistake", wrong))}


def read_tests(name, rendered):
    """(top-level score, [(function key, points, max points)]) as read from a format's output."""
    d = Decimal
    if name == "gradescope":
        doc = json.loads(rendered)
        return d(str(doc["score"])), [(t["name"].split(":")[0], d(str(t["score"])),
                                       d(str(t["max_score"]))) for t in doc["tests"]]
    if name == "json":
        doc = json.loads(rendered)
        return d(str(doc["score"])), [(f"{c['module']}.{c['function']}", d(str(c["points"])),
                                       d(str(c["max_points"]))) for c in doc["checks"]]
    if name == "prairielearn":
        doc = json.loads(rendered)
        return d(str(doc["score"])) * 100, [(t["name"].split(":")[0], d(str(t["points"])),
                                             d(str(t["max_points"]))) for t in doc["tests"]]
    if name == "classroom":
        doc = json.loads(rendered)
        assert doc["max_score"] == 100
        return None, [(t["name"].split(" ")[0], d(str(t["score"])),
                       RUBRIC[t["name"].split(" ")[0]]) for t in doc["tests"]]
    if name == "junit":
        cases = ET.fromstring(rendered).iter("testcase")
        return None, [(c.get("classname"), d(c.get("weight")) if c.find("failure") is None else d(0),
                       d(c.get("weight"))) for c in cases]
    if name == "markdown":   # the score table: | `module.function` | points | out of | ...
        found = re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \| ([0-9.]+) \| ([0-9.]+) \|", rendered, re.M)
        total = re.search(r"^\| \*\*total\*\* \| \*\*([0-9.]+)\*\*", rendered, re.M).group(1)
        return d(total), [(k, d(p), d(m)) for k, p, m in found]
    if name == "html":
        found = re.findall(r'<tr data-key="([a-z_.]+)">.*?class="num points">([0-9.]+)</td>'
                           r'<td class="num max">([0-9.]+)</td>', rendered)
        total = re.search(r'<tr class="total"><th>total</th><th class="num">([0-9.]+)', rendered)
        return d(total.group(1)), [(k, d(p), d(m)) for k, p, m in found]
    return None, None


@pytest.mark.parametrize("fmt", sorted(set(RENDERERS) - {"text"}))
@pytest.mark.parametrize("which", ["solutions", "stubs", "mistake"])
def test_per_test_points_add_up_exactly_to_the_rubric_and_the_score(reports, fmt, which):
    report = reports[which]
    top, tests = read_tests(fmt, RENDERERS[fmt](report))
    assert tests is not None, f"no reader for the {fmt} format in this test"
    maxima, earned = {}, {}
    for key, points, max_points in tests:
        maxima[key] = maxima.get(key, 0) + max_points
        earned[key] = earned.get(key, 0) + points
        assert 0 <= points <= max_points
    assert maxima == RUBRIC, f"{fmt}: per-test maxima do not add up to the rubric"
    assert sum(maxima.values()) == 100
    total = sum(earned.values())
    assert total == Decimal(str(float(report.score))), (fmt, total, report.score)
    if top is not None:
        assert top == total, f"{fmt}: the top-level score is not the sum of the tests"
    if which == "solutions":
        assert total == 100
    if which == "stubs":
        assert total == 0
    if which == "mistake":
        lost = {k for k in RUBRIC if earned[k] < RUBRIC[k]}
        assert "linear_regression_basic.loss" in lost, lost   # and train, which calls it
        assert lost <= {"linear_regression_basic.loss", "linear_regression_basic.train"}, lost


def test_classroom_result_has_the_runner_fields(reports):
    for which, status in (("solutions", "pass"), ("stubs", "fail")):
        doc = json.loads(RENDERERS["classroom"](reports[which]))
        assert set(doc) == {"version", "status", "max_score", "tests"} and doc["version"] == 1
        assert doc["status"] == status
        for t in doc["tests"]:
            assert set(t) == {"name", "status", "score", "message", "test_code", "filename",
                              "line_no", "duration"}
            assert t["status"] in ("pass", "fail")


def test_prairielearn_result_has_its_fields(reports):
    doc = json.loads(RENDERERS["prairielearn"](reports["mistake"]))
    assert doc["gradable"] is True and 0 < doc["score"] < 1
    for t in doc["tests"]:
        assert set(t) == {"name", "description", "points", "max_points", "message", "output"}
    assert len(RENDERERS["prairielearn"](reports["stubs"]).encode()) < 1 << 20


def test_sanitizer_strips_every_control_format_and_separator_character():
    """By Unicode category, not by a list: every code point of Cc (but tab and newline), Cf, Cs,
    Co, Cn, Zl and Zp becomes U+FFFD, other spaces a plain space, and everything else stays."""
    for cp in range(0x110000):
        ch = chr(cp)
        category = unicodedata.category(ch)
        out = clean(f"a{ch}b")
        if ch in "\t\n" or ch == " ":
            assert out == f"a{ch}b"
        elif category == "Zs":
            assert out == "a b", hex(cp)
        elif category[0] == "C" or category in ("Zl", "Zp"):
            assert out == "a\ufffdb", hex(cp)
        else:
            assert out == f"a{ch}b", hex(cp)
    assert clean("\u061c\u200b\u2066x\x1b[31m") == "\ufffd\ufffd\ufffdx\ufffd"
    assert clean(None) is None
