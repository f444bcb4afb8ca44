"""The grader against a corpus of student submissions (tests/corpus/).

Every entry of corpus/mistakes.py must lose points in its own function (with a message that names
a slide and, where the grader knows the mistake, the expected hint) and nowhere outside the
functions that call it; every entry of corpus/valid.py must score 100/100 with every check passed.

Seeds: SEED for the mistakes, VALID_SEEDS for the valid styles. GDKIT_CORPUS_SEEDS="0-40" (or
"3,7,11") grades every entry with each of those seeds instead, for a sweep.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from autograder import lecture
from autograder.feedback import diagnose
from autograder.engine.grader import grade
from corpus.build import MODULES, SOLUTIONS, build, replace_function
from corpus.mistakes import MISTAKES
from corpus.valid import STYLES

SEED = 0   # seed 0 feeds the NaN of numpy-predict-nan into the chain check
VALID_SEEDS = (0, 1)
CHAIN = "fed by predict, matches sympy's ∂L/∂θ at θ"
DIAGNOSIS_FLOOR = 0.95   # the share of wrong functions whose feedback names their mistake


def seeds_from_env(default):
    text = os.environ.get("GDKIT_CORPUS_SEEDS", "").strip()
    if not text:
        return tuple(default)
    out = []
    for part in text.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            out += range(int(lo), int(hi) + 1)
        else:
            out.append(int(part))
    return tuple(out)


MISTAKE_SEEDS = seeds_from_env([SEED])
STYLE_SEEDS = seeds_from_env(VALID_SEEDS)


def failing(checks):
    return [c for c in checks if not c.passed]


def show(checks):
    return "\n".join(f"  - {c.id} [{c.kind}, {c.status}]: {c.message}"
                     + (f"\n      hint: {c.hint}" if c.hint else "") for c in checks) or "  (none)"


def no_infrastructure_trouble(report):
    """A crash or a grader fault is never what a corpus entry is about: say so plainly."""
    trouble = [c for c in report.checks if c.status in ("crash", "fault")]
    assert not report.faults and not trouble, (
        "the grading machinery failed, not the submission (a worker killed or not started: "
        "another grader on this host?):\n" + show(trouble) + "\n" + "\n".join(report.faults))


# --------------------------------------------------------------------------- the corpus itself

def test_corpus_is_large_and_covers_every_function():
    assert len(MISTAKES) >= 100
    assert len(STYLES) >= 8
    ids = [m.id for m in MISTAKES] + [s.id for s in STYLES]
    assert len(ids) == len(set(ids)), "corpus ids must be unique"
    rubric = set(lecture.rubric())
    covered = {f"{m.module}.{m.function}" for m in MISTAKES}
    assert covered == rubric, f"functions without a mistake: {sorted(rubric - covered)}"
    for m in MISTAKES:
        assert m.module in MODULES
        assert f"{m.module}.{m.function}" in rubric, m.id
        assert m.function not in m.cascade, m.id
        assert all(f"{m.module}.{f}" in rubric for f in m.cascade), m.id


def test_every_known_mistake_of_diagnose_has_an_entry():
    """Each hint of autograder/diagnose.py is expected by some corpus entry, so each is shown to fire."""
    expected = [m.hint for m in MISTAKES if m.hint]
    for mistakes in diagnose.MISTAKES.values():
        for known in mistakes:
            assert any(fragment in known.hint for fragment in expected), (
                f"no corpus entry expects diagnose's {known.name!r}: {known.hint}")


def test_build_replaces_one_function_and_keeps_the_rest(tmp_path):
    source = (SOLUTIONS / "linear_regression_numpy.py").read_text(encoding="utf-8")
    new = replace_function(source, "loss", "def loss(y_hat, y):\n    return 0.0\n")
    assert "return 0.0" in new and "(y_hat - y) ** 2" not in new.split("def gradient")[0]
    head, tail = source.split("def loss")[0], source.split("def gradient")[1]
    assert new.startswith(head) and new.endswith(tail)
    folder = build(tmp_path / "s")
    for module in MODULES:
        assert (folder / f"{module}.py").read_bytes() == (SOLUTIONS / f"{module}.py").read_bytes()
    with pytest.raises(ValueError):
        replace_function(source, "loss", "def other():\n    pass\n")


# --------------------------------------------------------------------------- mistakes

@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """graded(mistake, seed): the Report of one corpus entry, graded once per test module run
    (the per-entry tests and the diagnosis share read the same reports)."""
    reports = {}

    def get(mistake, seed):
        if (mistake.id, seed) not in reports:
            folder = build(tmp_path_factory.mktemp(mistake.id),
                           functions={(mistake.module, mistake.function): mistake.code})
            reports[mistake.id, seed] = grade(folder, seed=seed)
        return reports[mistake.id, seed]
    return get


def named(mistake, report) -> bool:
    """The feedback names the mistake: a failed check of the wrong function carries the hint the
    entry expects, and no hint of the report is one the entry calls misleading."""
    target = [c for c in report.checks if c.key == f"{mistake.module}.{mistake.function}"
              and not c.passed]
    return (mistake.hint is not None and any(mistake.hint in (c.hint or "") for c in target)
            and not any(f in (c.hint or "") for c in report.checks for f in mistake.not_hints))


@pytest.mark.parametrize("seed", MISTAKE_SEEDS)
def test_most_wrong_functions_get_a_specific_correct_diagnosis(graded, seed):
    """The measurement: the share of corpus entries (wrong functions) whose feedback names the
    mistake (entries that expect no hint count against it). benchmarks/bench_diagnosis.py prints
    the same per entry."""
    missed = [m.id for m in MISTAKES if not named(m, graded(m, seed))]
    share = 1 - len(missed) / len(MISTAKES)
    print(f"\ndiagnosis share, seed {seed}: {len(MISTAKES) - len(missed)}/{len(MISTAKES)} = "
          f"{share:.1%}; not named: {', '.join(missed)}")
    assert share >= DIAGNOSIS_FLOOR, (f"only {share:.1%} of the wrong functions are diagnosed "
                                      f"(floor {DIAGNOSIS_FLOOR:.0%}); not named: {missed}")


@pytest.mark.parametrize("seed", MISTAKE_SEEDS)
@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: m.id)
def test_mistake_loses_points_in_its_own_function_only(mistake, seed, graded):
    report = graded(mistake, seed)
    no_infrastructure_trouble(report)
    functions = {f.key: f for f in report.functions}
    assert set(functions) == set(lecture.rubric())
    target = functions[f"{mistake.module}.{mistake.function}"]
    context = f"{mistake.id} ({mistake.description}), seed {seed}; failed checks:\n{show(failing(report.checks))}"

    # the target loses points, for the right reasons, and says where in the lecture to look
    assert target.points < target.max_points, f"a wrong {target.key} scored full marks: {context}"
    lost = failing(target.checks)
    if mistake.kinds is not None:
        assert {c.kind for c in lost} <= set(mistake.kinds), context
    for c in lost:
        if c.status == "failed":
            assert "slide" in c.message, f"{c.id}: the message names no slide: {c.message!r}"
    if mistake.hint is not None:
        assert any(mistake.hint in (c.hint or "") for c in lost), (
            f"no hint mentions {mistake.hint!r}: {context}")
    for fragment in mistake.not_hints:
        misleading = [c for c in report.checks if fragment in (c.hint or "")]
        assert not misleading, f"a misleading hint ({fragment!r}):\n{show(misleading)}"

    # the functions that call it lose points too, and nothing else does
    for key, f in functions.items():
        if f is target:
            continue
        if f.module == mistake.module and f.function in mistake.cascade:
            assert f.points < f.max_points, f"{key} calls the wrong {target.key} yet scored full: {context}"
            if mistake.cascade_kinds is not None:
                assert {c.kind for c in failing(f.checks)} <= set(mistake.cascade_kinds), context
        else:
            assert f.points == f.max_points, f"{key} lost points for a mistake in {target.key}: {context}"

    # a wrong predict never costs gradient points: the chain check feeds gradient the student's ŷ
    if mistake.function == "predict":
        chain = [c for c in report.checks if c.module == mistake.module and c.name == CHAIN]
        assert len(chain) == 1 and chain[0].passed, context


# --------------------------------------------------------------------------- valid styles

@pytest.mark.parametrize("seed", STYLE_SEEDS)
@pytest.mark.parametrize("style", STYLES, ids=lambda s: s.id)
def test_valid_style_gets_full_marks(style, seed, tmp_path):
    folder = build(tmp_path / style.id, functions=style.functions, modules=style.modules)
    report = grade(folder, seed=seed)
    no_infrastructure_trouble(report)
    bad = failing(report.checks)
    assert not bad, f"{style.id} ({style.description}), seed {seed}: a right answer lost points:\n{show(bad)}"
    assert report.score == report.max_score == 100
    hinted = [c for c in report.checks if c.hint]
    assert not hinted, f"{style.id}, seed {seed}: a right answer got a hint:\n{show(hinted)}"


DEBIAN_PYTHON = "/usr/bin/python3"  # reachable by the worker uids; tests/test_isolation.py does the same


@pytest.mark.parametrize("layer", ["process", "uid"])
@pytest.mark.parametrize("style", STYLES, ids=lambda s: s.id)
def test_valid_style_gets_full_marks_under_the_other_layers(style, layer, tmp_path, monkeypatch):
    """No false failure from the sandbox: the default run above uses the strongest layer (bwrap
    here); the weaker layers must agree."""
    from autograder import sandbox

    if layer == "uid" and sandbox.unavailable("uid") and Path(DEBIAN_PYTHON).exists():
        monkeypatch.setenv("GDKIT_WORKER_PYTHON", DEBIAN_PYTHON)
    reason = sandbox.unavailable(layer)
    if reason:
        pytest.skip(f"the {layer} layer is unavailable here: {reason}")
    folder = build(tmp_path / style.id, functions=style.functions, modules=style.modules)
    report = grade(folder, seed=2, layer=layer)
    no_infrastructure_trouble(report)
    bad = failing(report.checks)
    assert not bad, f"{style.id} under {layer}: a right answer lost points:\n{show(bad)}"
    assert report.isolation == layer and report.score == 100
