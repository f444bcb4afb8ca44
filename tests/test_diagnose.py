"""The catalogue of known mistakes on its own, without a worker: every mistake is named from its
own values, right values get no hint, twins on the slides' inputs are told apart (or not named),
hints are in the student's terms, and train blames only steps that return wrong values."""
from __future__ import annotations

import numpy as np
import pytest

from autograder import lecture
from autograder.checks import model
from autograder.checks.linear_regression_basic import Basic
from autograder.checks.linear_regression_numpy import Vector
from autograder.checks.logistic_regression import CLASSIFY_PROBES, SIGMOID_PROBES, Logistic, class_canon
from autograder.feedback import diagnose, steps
from autograder.feedback.diagnose import Observation
from autograder.lecture import oracles

ADAPTERS = (Basic(), Vector(), Logistic())


def inputs_of(adapter, function):
    """Every input a diagnosis may see for this module's function: the worked examples and the
    generic probes (a failing check adds its own, which can only rule mistakes out)."""
    if function == "sigmoid":
        return [{"z": z} for z in SIGMOID_PROBES]
    if function == "classify":
        return [class_canon(args) for args in CLASSIFY_PROBES]
    return [canon for canon, _ in model.probe_inputs(adapter, function)]


def right(adapter, function, canon):
    if function == "sigmoid":
        return float(oracles.sigmoid(canon["z"]))
    if function == "classify":
        return oracles.classify(**canon)
    return model.expected_of(adapter, function, canon)


def value_of(mistake, canon):
    if mistake.value is None:
        return None
    with np.errstate(all="ignore"):
        v = mistake.value(**canon)
    return v


def cases():
    for adapter in ADAPTERS:
        functions = ["predict", "loss", "gradient", "update", "train"]
        if adapter.model == "logistic":
            functions += ["sigmoid", "classify"]
        for function in functions:
            model_key = "any" if function in ("sigmoid", "classify") else adapter.model
            for m in diagnose.catalogue(model_key, function):
                if m.value is not None:
                    yield pytest.param(adapter, function, m, id=f"{adapter.module}.{function}: {m.name}")


@pytest.mark.parametrize("adapter, function, mistake", list(cases()))
def test_each_mistake_is_named_from_its_own_values(adapter, function, mistake):
    inputs = inputs_of(adapter, function)
    values = [value_of(mistake, c) for c in inputs]
    if any(v is None for v in values):
        pytest.skip("the mistake does not apply to every input of this module (another module's)")
    obs = [Observation(c, v) for c, v in zip(inputs, values)]
    if all(diagnose.same(v, right(adapter, function, c)) for c, v in zip(inputs, values)):
        pytest.skip("the mistake makes no difference on this module's inputs")
    # the mistake's values, on all these inputs, name it and it alone
    assert diagnose.diagnose(adapter.model if function not in ("sigmoid", "classify") else "any",
                             function, obs) == mistake.hint


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda a: a.module)
def test_right_values_get_no_hint(adapter):
    functions = ["predict", "loss", "gradient", "update", "train"]
    for function in functions:
        obs = [Observation(c, right(adapter, function, c), right(adapter, function, c))
               for c in inputs_of(adapter, function)]
        assert diagnose.diagnose(adapter.model, function, obs) is None, function
    if adapter.model == "logistic":
        for function in ("sigmoid", "classify"):
            obs = [Observation(c, right(adapter, function, c), right(adapter, function, c))
                   for c in inputs_of(adapter, function)]
            assert diagnose.diagnose("any", function, obs) is None, function


def test_twins_on_slide_6_are_not_named_alone_and_probes_tell_them_apart():
    """w = b = 2: returning (b, w) and crossing the gradients give the same (4.4, 6.8) there."""
    canon = dict(theta=np.array([2.0, 2.0]), grad=np.array([-24.0, -48.0]), lr=0.1)
    got = np.array([6.8, 4.4])   # in θ order [b, w]: the student's (w, b) = (4.4, 6.8)
    hint = diagnose.match("linear", "update", canon, got)
    assert hint is not None and hint.startswith("your values fit two known mistakes")
    assert "swapped" in hint and "crossed" in hint
    crossed = [m for m in diagnose.UPDATE if m.name == "crossed"][0]
    more = [Observation(c, crossed.value(**c)) for c in inputs_of(Basic(), "update")]
    assert diagnose.diagnose("linear", "update", [Observation(canon, got)], lambda: more) == crossed.hint


def test_x_equal_to_2_does_not_pick_between_no_x_and_no_2():
    """On slide 6 (x = 2) dw = x(ŷ − y) and dw = 2(ŷ − y) agree: with the probes, the right one."""
    slide6 = dict(x=np.array([1.0, 2.0]), y_hat=6.0, y=18.0)
    got = np.array([-24.0, -24.0])   # db = 2(ŷ − y), dw = x(ŷ − y), as well as no x in dw
    alone = diagnose.match("linear", "gradient", slide6, got)
    assert alone is None or alone.startswith("your values fit two")
    dw_no_2 = [m for m in diagnose.LINEAR_GRADIENT if m.name == "2 only in db"][0]
    more = [Observation(c, dw_no_2.value(**c)) for c in inputs_of(Basic(), "gradient")]
    assert diagnose.diagnose("linear", "gradient", [Observation(slide6, got)], lambda: more) == dw_no_2.hint


def test_the_absolute_error_is_not_told_to_square_the_difference():
    obs = [Observation(dict(y_hat=a, y=b), abs(a - b)) for a, b in ((6.0, 18.0), (3.5, -1.25), (-2.0, 4.0))]
    hint = diagnose.diagnose("linear", "loss", obs)
    assert "|ŷ − y|" in hint and "square the difference" not in hint


def test_a_mistake_that_one_input_contradicts_is_not_named():
    """A hint holds on every input the check tried: one right value rules a mistake out."""
    no2 = lambda x, y_hat, y: np.asarray(x) * (y_hat - y)  # noqa: E731
    a = dict(x=np.array([1.0, 2.0]), y_hat=6.0, y=18.0)
    b = dict(x=np.array([1.0, 3.0]), y_hat=8.0, y=22.0)
    assert "factor 2" in diagnose.diagnose("linear", "gradient", [Observation(a, no2(**a)), Observation(b, no2(**b))])
    right_b = oracles.gradient("linear", b["x"], b["y_hat"], b["y"])
    assert diagnose.diagnose("linear", "gradient", [Observation(a, no2(**a)), Observation(b, right_b)]) is None


def test_train_mistakes_are_named_on_the_training_runs():
    for adapter in ADAPTERS:
        runs = inputs_of(adapter, "train")
        for m in diagnose.catalogue(adapter.model, "train"):
            if m.value is None:
                continue
            values = [m.value(**c) for c in runs]
            if any(v is None for v in values):
                continue
            obs = [Observation(c, v) for c, v in zip(runs, values)]
            assert diagnose.diagnose(adapter.model, "train", obs) == m.hint, (adapter.module, m.name)


def test_samples_out_of_order_are_found_by_search():
    X, y = lecture.dataset("pass_fail")
    canon = dict(X=X, y=y, theta=np.array([0.1, 0.1]), lr=0.5, epochs=2)
    perm = [3, 0, 6, 1, 7, 2, 5, 4]
    got = oracles.train("logistic", X, y, canon["theta"], 0.5, 2, order=perm)
    assert "data order" in diagnose.diagnose("logistic", "train", [Observation(canon, got)])
    right_run = oracles.train("logistic", X, y, canon["theta"], 0.5, 2)
    assert diagnose.diagnose("logistic", "train", [Observation(canon, right_run)]) is None


def test_not_finite_hints_name_the_likely_cause():
    assert "log(0)" in diagnose.not_finite_hint("logistic", "loss", {"y_hat": 1.0, "y": 0.0})
    assert "log(0)" in diagnose.not_finite_hint("logistic", "train")
    assert "overflow" in diagnose.not_finite_hint("any", "sigmoid")
    # the typo log(1 − y): NaN at y = 1, reproduced value for value (NaN included) and named
    obs = [Observation(dict(y_hat=0.3, y=1.0), float("nan")), Observation(dict(y_hat=0.3, y=0.0), 0.0)]
    assert "log(1 − y)" in diagnose.diagnose("logistic", "loss", obs)


def test_same_compares_non_finite_values_by_kind():
    assert diagnose.same(float("nan"), float("nan")) and diagnose.same([1.0, np.inf], [1.0, np.inf])
    assert not diagnose.same(float("nan"), float("inf")) and not diagnose.same(1.0, float("nan"))
    assert not diagnose.same([1.0, 2.0], [1.0]) and diagnose.same((1.0, [2.0]), (1.0, [2.0 + 1e-12]))


def test_the_basic_module_shows_pairs_in_its_own_order():
    basic = Basic()
    assert basic.show("gradient", np.array([-24.0, -48.0])) == "(dw, db) = (-48, -24)"
    assert basic.show("update", np.array([4.4, 6.8])) == "(w, b) = (6.8, 4.4)"
    assert Vector().show("update", np.array([4.4, 6.8])) == "[4.4, 6.8]"
    assert basic.show_from(np.array([0.111, 0.351])) == {"from (w, b)": "(0.351, 0.111)"}
    with pytest.raises(model.Failure) as failed:
        model.compare(np.array([6.8, 4.4]), np.array([4.4, 6.8]), inputs={}, what="θ", model="linear",
                      function="update", canon=dict(theta=np.array([2.0, 2.0]),
                                                    grad=np.array([-24.0, -48.0]), lr=0.1),
                      figure="[4.4, 6.8]", slide=7, show=lambda v: basic.show("update", v))
    f = failed.value
    assert f.expected.startswith("(w, b) = (6.8, 4.4)") and "prints (w, b) = (6.8, 4.4)" in f.expected
    assert f.got == "(w, b) = (4.4, 6.8)" and "(w, b) = (4.4, 6.8)" in f.message


def test_train_blames_only_steps_that_return_wrong_values():
    assert steps.broken_steps_hint("m", {"m.gradient", "m.update", "other.loss"}) == (
        "train calls the module's steps, and gradient, update fail their own checks: fix them first")
    assert steps.broken_steps_hint("m", {"m.classify"}) is None
    # the grader passes only non-style failures: tests/corpus/mistakes.py's basic-*-numpy-*
    # entries (a step that fails only its style check) assert that train names no step


def test_train_shape_hints_name_the_part_returned_and_say_nothing_when_ambiguous():
    canon = dict(X=np.array([[1.0, 2.0], [1.0, 3.0], [1.0, 4.0]]), y=np.zeros(3),
                 theta=np.zeros(2), lr=0.1, epochs=2)
    hint = lambda order, value, **c: model.train_shape_hint(order, value, {**canon, **c})  # noqa: E731
    six = [1.0] * 6
    assert "the losses alone" in hint("(theta, losses)", six)
    assert "θ alone" in hint("(theta, losses)", np.zeros(2))
    assert "the losses first" in hint("(theta, losses)", (six, np.zeros(2)))
    assert "(w, b) alone" in hint("(w, b, losses)", (0.5, 0.25))
    assert "the losses first" in hint("(w, b, losses)", (six, 0.5, 0.25))
    assert hint("(theta, losses)", (np.zeros(2), six)) is None      # the right shape: not a hint
    assert hint("(theta, losses)", "abcdef") is None
    # two samples, one epoch: a list of two losses and θ look the same
    assert hint("(w, b, losses)", [1.0, 2.0], X=canon["X"][:2], epochs=1) is None
