"""The checks that every student module shares: predict, loss, gradient, update and train.

They are written once, in the lecture's vector terms (θ = [b, w, ...], x = [1, x, ...]). An
`Adapter` per student module says how to call its functions in the module's own terms (plain
floats for the basic module) and how to read the results back into vector terms.
"""
from __future__ import annotations

import numpy as np

from .. import lecture
from ..feedback import diagnose
from ..lecture import oracles
from .base import RTOL, ATOL, Check, Failure, close, finite, fmt

LOSS_RTOL = 1e-5   # cross-entropy: room for clipped or eps-shifted logs


class Adapter:
    """How one student module is called. Subclasses fill in the argument and result mappings."""

    spec: lecture.Module   # the module's spec: name, model, features, slides
    train_returns = "(theta, losses)"   # what train returns, in the module's own terms

    module = property(lambda self: self.spec.name)
    model = property(lambda self: self.spec.model)        # linear or logistic
    features = property(lambda self: self.spec.features)  # features to draw random cases with

    def function(self, name) -> lecture.Function:
        return lecture.function(f"{self.spec.name}.{name}")

    def args(self, function, **canon):
        """(positional args, inputs shown in feedback) for a call, from canonical values."""
        raise NotImplementedError

    def read(self, function, value, **canon):
        """The canonical value of a result, or a Failure that says what is wrong with its type."""
        raise NotImplementedError

    def contract(self, function, value, **canon):
        """A strict type check of a result (the contract check); returns a note or None."""
        raise NotImplementedError

    def show(self, function, value) -> str:
        """A canonical value as the student's function returns it (the basic module's pairs in
        their own order, with their names)."""
        return fmt(value)

    def show_from(self, theta) -> dict:
        """The θ a chain case predicted from, as feedback inputs in the module's terms."""
        return {"from θ": fmt(theta)}

    def slide(self, function) -> str:
        """The slide that states the function's formula, for checks with no worked value."""
        return self.function(function).slide

    def invoke(self, ctx, function, **canon):
        """Call a student function on canonical inputs: (canonical result, raw value, inputs)."""
        args, inputs = self.args(function, **canon)
        try:
            value = ctx.call(function, *args)
        except Failure as f:
            f.inputs = {**inputs, **f.inputs}
            raise
        try:
            return self.read(function, value, **canon), value, inputs
        except Failure as f:   # it returned, but not the contract's type
            f.inputs = {**inputs, **f.inputs}
            f.hint = f.hint or shape_hint(self, function, value, canon)
            raise


def shape_hint(adapter, function, value, canon):
    """Why a result could not be read as the contract's type, where the cause is plain."""
    if value is None:
        return (f"your {function} returned None: the `return` is missing (an in-place change "
                "such as theta -= ... or list.append returns None; return the result itself)")
    if function == "train":
        return train_shape_hint(adapter.train_returns, value, canon)
    if function == "predict" and isinstance(value, np.ndarray) and value.shape == np.shape(canon["x"]):
        if np.allclose(np.sum(value), np.dot(canon["theta"], canon["x"])) or (
                adapter.model == "logistic" and np.allclose(
                    np.asarray(value, float), oracles.sigmoid(np.asarray(canon["theta"]) * canon["x"]))):
            return ("your ŷ is an array, x * theta entry by entry: θᵀx is their sum, x @ theta "
                    "(or np.dot), a single number (slide 14)")
    return None


def train_shape_hint(order, value, canon):
    """train returned a part of its result, or its parts in the wrong order: which, when only one
    reading of the value's shape fits (one loss per sample and epoch; θ as the contract has it:
    `order` is "(theta, losses)", or "(w, b, losses)" for the basic module)."""
    basic = order.startswith("(w, b")
    want = canon["epochs"] * len(canon["X"])
    size = 2 if basic else len(canon["theta"])

    def numbers(v, n):
        try:
            a = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            return False
        return a.shape == (n,) and not isinstance(v, (str, bytes))

    def theta(v):
        return numbers(v, size)

    if want == size:   # a list of losses looks like θ: nothing can be said
        return None
    if numbers(value, want):
        return f"your train returned the losses alone: return {order}, θ and the losses"
    if theta(value):
        return (f"your train returned {'(w, b)' if basic else 'θ'} alone: return {order}, with "
                "the list of losses as well")
    if isinstance(value, (tuple, list)) and value and numbers(value[0], want):
        rest = value[1:]
        if (len(rest) == 1 and theta(rest[0])) or (basic and len(rest) == 2 and theta(rest)):
            return f"your train returned the losses first: the order is {order}"
    return None


# --------------------------------------------------------------------------- helpers

def figure_hint(got, figure):
    """A hint when a value is the slide's rounded figure rather than the computed one."""
    try:
        slide_value = np.array(eval_figure(figure), dtype=float)
    except ValueError:
        return None
    got = np.asarray(got, dtype=float)
    if slide_value.shape == got.shape and np.allclose(got, slide_value, rtol=0, atol=1e-12):
        return "that is the slide's rounded figure: compute the value instead of copying it"
    return None


def eval_figure(figure: str):
    text = figure.replace("−", "-").strip()
    if text.startswith("["):
        return [float(v) for v in text.strip("[]").split(",")]
    return float(text)


def compare(got, expected, *, inputs, what, model, function, canon, rtol=RTOL, atol=ATOL,
            figure=None, slide=None, erratum=None, case=None, seen=None, probe=None, show=fmt):
    """Raise a Failure with a diagnosis unless `got` is close to `expected`.

    `seen` collects every call the check made (right or wrong), so that a hint holds on all of
    them; `probe()` gives the function's other inputs when a known mistake is left to confirm;
    `show` writes a value in the student's own terms."""
    observation = diagnose.Observation(canon, got, expected, figure is not None)
    if seen is not None:
        seen.append(observation)
    if close(got, expected, rtol, atol):
        return
    where = f"slide {slide}: " if slide else ""
    prefix = f"{case}: " if case else ""
    expected_text = show(expected)
    if figure is not None:
        expected_text += f" (slide {slide} prints {show_figure(figure, expected, show)}"
        expected_text += f"; erratum {erratum}: {lecture.errata()[erratum]})" if erratum else ")"
    hint = diagnose.diagnose(model, function, seen if seen is not None else [observation], probe)
    if hint is None and figure is not None:
        hint = figure_hint(got, figure)
    if hint is None and not np.all(np.isfinite(np.asarray(got, dtype=float))):
        hint = diagnose.not_finite_hint(model, function, canon)
    if hint is None and probe is not None:
        more = probe()
        hint = (worked_only_hint(more, function) if figure is None else None) or constant_hint(
            (seen if seen is not None else [observation]) + more, function, show)
    raise Failure(f"{prefix}{where}{what} must be {show(expected)}, got {show(got)}",
                  expected=expected_text, got=show(got), inputs=inputs, hint=hint)


def show_figure(figure, expected, show):
    """The slide's printed figure, in the student's terms when it is a vector like `expected`."""
    try:
        value = np.array(eval_figure(figure), dtype=float)
    except ValueError:
        return figure
    if value.ndim == 1 and value.shape == np.shape(expected) and show(value) != fmt(value):
        return show(value)
    return figure


def worked_only_hint(observations, function):
    """A function right on every worked example of the slides and wrong elsewhere."""
    worked = [o for o in observations if o.worked]
    others = [o for o in observations if not o.worked and o.expected is not None]
    if worked and all(close(o.got, o.expected) for o in worked) and any(
            not close(o.got, o.expected) for o in others):
        return (f"your {function} gives the slides' worked values but not the formula's value at "
                "other inputs: compute the result from the arguments (returning the slides' numbers, "
                "or a formula that agrees with the right one only where w = b or x = 2, would do this)")
    return None


def constant_hint(observations, function, show=fmt):
    """A function that returns the same value whatever its inputs."""
    if len(observations) < 3 or not all(np.all(np.isfinite(np.asarray(o.got, dtype=float)))
                                        for o in observations):
        return None
    first = observations[0].got
    if all(diagnose.same(o.got, first) for o in observations) and not all(
            o.expected is None or diagnose.same(o.expected, first) for o in observations):
        return (f"your {function} returns {show(first)} whatever its inputs: compute the result "
                "from the arguments, not from the slides' numbers")
    return None


PROBE_SEED = 20230  # the fixed generic inputs every diagnosis may try: the same in every run


def probe_inputs(adapter, function):
    """Canonical inputs beyond a check's own: the function's worked examples (tagged), and
    generic points of every feature count the module takes (w ≠ b, x ≠ 2, lr ≠ 0.1, both y)."""
    out = []
    if function == "train":
        for _, X, y, theta, lr, epochs in training_runs(adapter):
            out.append((dict(X=X, y=y, theta=theta, lr=lr, epochs=epochs), False))
        _, X, y, theta, lr, epochs = random_run(adapter)(np.random.default_rng(PROBE_SEED))
        return out + [(dict(X=X, y=y, theta=theta, lr=lr, epochs=epochs), False)]
    step = lecture.STEPS[function]
    for ex in lecture.examples():
        if ex.model == adapter.model and step.worked in ex.values and (
                function != "update" or "gradient" in ex.values) and (
                len(ex.theta) - 1 in adapter.features):
            out.append((worked_case(adapter, function, ex)[0], True))
    rng = np.random.default_rng(PROBE_SEED)
    for i in range(2 * len(adapter.features) + 2):
        canon = canon_of(function, draw(rng, adapter.model, adapter.features[i % len(adapter.features)]))
        if adapter.model == "logistic" and "y" in canon:
            canon["y"] = float(i % 2)
        out.append((canon, False))
    return out


def prober(ctx, adapter, function):
    """probe(): the student's function on `probe_inputs`, as Observations; called once at most
    per check (the result is kept), and a call that fails is left out. Printed output of these
    extra calls is not added to the check's."""
    kept = []

    def probe():
        if kept:
            return kept[0]
        outputs = getattr(ctx, "outputs", None)
        mark = len(outputs) if isinstance(outputs, list) else None
        out = []
        for canon, worked in probe_inputs(adapter, function):
            try:
                got = adapter.invoke(ctx, function, **canon)[0]
            except Failure:
                continue
            out.append(diagnose.Observation(canon, got, expected_of(adapter, function, canon), worked))
        if mark is not None:
            del outputs[mark:]
        kept.append(out)
        return out
    return probe


def draw(rng, model, d):
    """A random sample for d features: θ, x (with its leading 1), y and a matching ŷ."""
    theta = rng.normal(0, 1.5 if model == "linear" else 0.8, d + 1).round(3)
    x = np.concatenate([[1.0], rng.uniform(-3, 3, d).round(3)])
    if model == "linear":
        y = round(float(rng.uniform(-10, 10)), 3)
        y_hat = round(float(rng.uniform(-10, 10)), 3)
    else:
        y = float(rng.integers(0, 2))
        y_hat = round(float(rng.uniform(0.05, 0.95)), 4)
    lr = float(rng.choice([0.01, 0.05, 0.3, 0.7]))
    return dict(theta=theta, x=x, y=y, y_hat=y_hat, lr=lr,
                grad=rng.normal(0, 2, d + 1).round(3))


def group_of(example) -> str:
    """The slides a worked example belongs to, as the check's name shows them."""
    return {
        "linear-slide-6": "slides 6–7", "linear-slide-20": "slides 19–20",
    }.get(example.id, "slides 26–36 (Data #1)" if len(example.theta) == 2 else "slides 38–49 (Data #2)")


def example_inputs(example, names):
    """Canonical inputs of a worked example: its θ, x, y and lr, and the values it computed
    before the step (ŷ for the loss and gradient, ∇θL for the update)."""
    v = example.values
    known = {"theta": lambda: example.theta, "x": lambda: example.x, "y": lambda: example.y,
             "lr": lambda: example.lr, "y_hat": lambda: v["y_hat"].exact,
             "z": lambda: float(v["z"].exact), "grad": lambda: np.array(v["gradient"].exact)}
    return {name: known[name]() for name in names}


def worked_case(adapter, function, example):
    """(canonical inputs, expected Value) of a worked example for one function."""
    step = lecture.STEPS[function]
    return example_inputs(example, step.inputs), example.values[step.worked]


# --------------------------------------------------------------------------- check builders

def worked_checks(adapter, function):
    """One check per group of the lecture's worked examples that compute this step."""
    groups: dict[str, list] = {}
    for ex in lecture.examples():
        if ex.model == adapter.model and lecture.STEPS[function].worked in ex.values and (
                function != "update" or "gradient" in ex.values) and (
                len(ex.theta) - 1 in adapter.features):
            groups.setdefault(group_of(ex), []).append(ex)
    out = []
    for group, exs in groups.items():
        def run(ctx, exs=exs):
            seen, probe = [], prober(ctx, adapter, function)
            for ex in exs:
                canon, value = worked_case(adapter, function, ex)
                got, _, inputs = adapter.invoke(ctx, function, **canon)
                compare(got, value.exact, inputs=inputs, what=lecture.STEPS[function].symbol,
                        model=adapter.model,
                        function=function, canon=canon, figure=value.figure, slide=value.slide,
                        erratum=value.erratum,
                        rtol=LOSS_RTOL if function == "loss" else RTOL, seen=seen, probe=probe,
                        show=lambda v: adapter.show(function, v))
        worked = lecture.STEPS[function].worked
        slides = ", ".join(sorted({str(ex.values[worked].slide) for ex in exs}, key=int))
        out.append(Check(adapter.module, function, f"worked values of {group}", "worked", slides, run))
    return out


def expected_of(adapter, function, canon):
    return adapter.function(function).expected(**canon)


def canon_of(function, sample):
    return {k: sample[k] for k in lecture.STEPS[function].inputs}


def random_check(adapter, function, cases=5):
    """The function against the lecture's formula (for gradients: sympy's) at random points."""
    def run(ctx):
        seen, probe = [], prober(ctx, adapter, function)
        for i in range(cases):
            d = adapter.features[i % len(adapter.features)]
            canon = canon_of(function, draw(ctx.rng, adapter.model, d))
            got, _, inputs = adapter.invoke(ctx, function, **canon)
            compare(got, expected_of(adapter, function, canon), inputs=inputs,
                    what=lecture.STEPS[function].symbol, model=adapter.model, function=function,
                    canon=canon,
                    case=f"random case {i + 1} of {cases}",
                    rtol=LOSS_RTOL if function == "loss" else RTOL, seen=seen, probe=probe,
                    show=lambda v: adapter.show(function, v))
    if function == "gradient":
        name = f"matches sympy's derivative of the loss, {symbolic_name(adapter.model)}, at random points"
        return Check(adapter.module, function, name, "symbolic", adapter.slide(function), run)
    return Check(adapter.module, function, "matches the lecture's formula at random points",
                 "random", adapter.slide(function), run)


def symbolic_name(model):
    return "∂L/∂θ = 2x(ŷ − y)" if model == "linear" else "∂L/∂θ = x(ŷ − y)"


def chain_check(adapter):
    """predict → gradient, against sympy's full ∂L/∂θ at θ (at the student's ŷ if predict is off)."""
    def run(ctx):
        seen, probe = [], prober(ctx, adapter, "gradient")
        for i in range(3):
            d = adapter.features[i % len(adapter.features)]
            s = draw(ctx.rng, adapter.model, d)
            theta, x, y = s["theta"], s["x"], s["y"]
            y_true = oracles.predict(adapter.model, theta, x)
            try:
                y_hat = adapter.invoke(ctx, "predict", theta=theta, x=x)[0]
            except Failure:
                y_hat = y_true  # predict is graded on its own; use the right ŷ
            if not np.isfinite(y_hat):
                y_hat = y_true  # a NaN or infinite ŷ is predict's fault, not gradient's
            if y_hat == y_true:
                expected = oracles.full_gradient(adapter.model, theta, x, y)
            else:
                # predict is off (or within tolerance but not exact): gradient is judged on the ŷ
                # it was given; near ŷ = y even a tiny error in ŷ is a large one in ŷ − y
                expected = oracles.gradient(adapter.model, x, y_hat, y)
            canon = dict(x=x, y_hat=y_hat, y=y)
            got, _, inputs = adapter.invoke(ctx, "gradient", **canon)
            compare(got, expected, inputs={**inputs, **adapter.show_from(theta)}, what="∂L/∂θ",
                    model=adapter.model, function="gradient", canon=canon,
                    case=f"chain case {i + 1} of 3", seen=seen, probe=probe,
                    show=lambda v: adapter.show("gradient", v))
    return Check(adapter.module, "gradient", "fed by predict, matches sympy's ∂L/∂θ at θ",
                 "symbolic", adapter.slide("gradient"), run)


def random_canon(adapter, function, rng, d=None):
    """Random canonical inputs for one call of `function` (a whole random run for train)."""
    if function == "train":
        _, X, y, theta, lr, epochs = random_run(adapter)(rng)
        return dict(X=X, y=y, theta=theta, lr=lr, epochs=epochs)
    return canon_of(function, draw(rng, adapter.model, adapter.features[-1] if d is None else d))


def busy_elsewhere(reply) -> bool:
    """A traced call refused only because other threads of the worker used CPU meanwhile."""
    error = reply.error or {}
    message = error.get("message", "")
    return (error.get("type") == "Tampering" and "another thread" in message
            and "tracing" not in message and "frames" not in message)


def style_call(ctx, adapter, function, canon, explain_error=None, **options):
    """A call made for a style check, which pays only a function that runs and returns correct
    values. Returns the reply; `explain_error(reply)` may give a more specific Failure."""
    args, inputs = adapter.args(function, **canon)
    reply = ctx.reply(function, *args, **options)
    if options.get("trace") and busy_elsewhere(reply):
        reply = ctx.reply(function, *args, **options)  # once more: a loaded machine, not the code
    if not reply.ok:
        failure = (explain_error and explain_error(reply)) or ctx.explain(function, reply, args)
        failure.inputs = {**inputs, **failure.inputs}
        raise failure
    got = adapter.read(function, reply.value, **canon)
    if function == "train":
        theta, losses = oracles.train(adapter.model, canon["X"], canon["y"], canon["theta"],
                                      canon["lr"], canon["epochs"])
        correct = close(got[0], theta) and len(got[1]) == len(losses) and close(got[1], losses, LOSS_RTOL)
    else:
        correct = close(got, expected_of(adapter, function, canon))
    if not correct:
        raise Failure("style points are earned once the function returns correct values",
                      inputs=inputs, got=fmt(reply.value))
    return reply


def contract_check(adapter, function):
    """Types and shapes as the docstring states them, and finite values."""
    def run(ctx):
        canon = random_canon(adapter, function, ctx.rng)
        args, inputs = adapter.args(function, **canon)
        try:
            value = ctx.call(function, *args)
            note = adapter.contract(function, value, **canon)
            got = adapter.read(function, value, **canon)
            try:
                finite(got)
            except Failure as f:
                f.hint = diagnose.diagnose(adapter.model, function, [diagnose.Observation(canon, got)],
                                           prober(ctx, adapter, function)) or \
                    diagnose.not_finite_hint(adapter.model, function, canon)
                raise
        except Failure as f:
            f.inputs = {**inputs, **f.inputs}
            raise
        return note
    return Check(adapter.module, function, f"returns {adapter.returns(function)}", "contract",
                 adapter.slide(function), run)


def loss_zero_check(adapter):
    """The loss of a perfect prediction is zero (and a loss is never negative)."""
    def run(ctx):
        rng, seen, probe = ctx.rng, [], prober(ctx, adapter, "loss")
        if adapter.model == "linear":
            cases = [(y, y) for y in rng.uniform(-20, 20, 3).round(3)]
            limit = 1e-12
        else:  # the plain formula gives 0·log 0 = nan at ŷ = y exactly: test ŷ within 1e-9 of y
            cases = [(1 - 1e-9, 1.0), (1e-9, 0.0)]
            limit = 1e-4
        for y_hat, y in cases:
            canon = dict(y_hat=float(y_hat), y=float(y))
            got, _, inputs = adapter.invoke(ctx, "loss", **canon)
            seen.append(diagnose.Observation(canon, got))
            if not (np.isfinite(got) and -limit <= got <= limit):
                raise Failure(f"the loss of a perfect prediction must be 0, got {fmt(got)}",
                              expected="0", got=fmt(got), inputs=inputs,
                              hint=diagnose.diagnose(adapter.model, "loss", seen, probe)
                              or (None if np.isfinite(got) else
                                  diagnose.not_finite_hint(adapter.model, "loss", canon)))
        for i in range(3):
            canon = canon_of("loss", draw(rng, adapter.model, 1))
            got, _, inputs = adapter.invoke(ctx, "loss", **canon)
            seen.append(diagnose.Observation(canon, got))
            if not got >= 0:
                raise Failure(f"a loss is never negative, got {fmt(got)}", got=fmt(got), inputs=inputs,
                              hint=diagnose.diagnose(adapter.model, "loss", seen, probe)
                              or (None if np.isfinite(got) else
                                  diagnose.not_finite_hint(adapter.model, "loss", canon)))
    return Check(adapter.module, "loss", "is zero for a perfect prediction and never negative",
                 "property", "8" if adapter.model == "linear" else "28", run)


def descent_check(adapter):
    """An update moves θ against the gradient, and not at all when lr = 0."""
    def run(ctx):
        s, seen, probe = draw(ctx.rng, adapter.model, adapter.features[-1]), [], prober(ctx, adapter, "update")
        show = lambda v: adapter.show("update", v)  # noqa: E731
        for lr in (0.0, s["lr"]):
            canon = dict(theta=s["theta"], grad=s["grad"], lr=lr)
            got, _, inputs = adapter.invoke(ctx, "update", **canon)
            seen.append(diagnose.Observation(canon, got))
            step = np.asarray(got) - s["theta"]
            if lr == 0 and not close(got, s["theta"]):
                raise Failure("with lr = 0 the update must leave θ unchanged", expected=show(s["theta"]),
                              got=show(got), inputs=inputs,
                              hint=diagnose.diagnose(adapter.model, "update", seen, probe))
            if lr > 0 and not np.dot(step, s["grad"]) < 0:
                raise Failure("the update must move θ against the gradient (θ − η∇θL)",
                              expected=show(expected_of(adapter, "update", canon)), got=show(got),
                              inputs=inputs, hint=diagnose.diagnose(adapter.model, "update", seen, probe))
    return Check(adapter.module, "update", "moves θ against the gradient, and not at all when lr = 0",
                 "property", "8", run)


# --------------------------------------------------------------------------- train

def training_runs(adapter, rng=None):
    """The runs a train check makes: the slides' own, the lecture's datasets, random data."""
    runs = []
    for t in lecture.trainings():
        if t.model == adapter.model and t.X.shape[1] - 1 in adapter.features:
            runs.append((f"slides {t.slides}: {t.title}", t.X, t.y, t.theta, t.lr, t.epochs))
    datasets = {"linear": [("salary", 0.01, 4, [0.0, 0.0])],
                "logistic": [("pass_fail", 0.5, 5, [0.1, 0.1]),
                             ("pass_fail_multi", 0.3, 4, [0.1, 0.2, 0.1])]}[adapter.model]
    for name, lr, epochs, theta in datasets:
        X, y = lecture.dataset(name)
        if X.shape[1] - 1 in adapter.features:
            runs.append((f"{lecture.DATASETS[name]}, lr = {lr}, {epochs} epochs", X, y,
                         np.array(theta), lr, epochs))
    return runs


def train_check(adapter, title, make_run, kind="training", slides=None):
    def run(ctx):
        label, X, y, theta, lr, epochs = make_run(ctx.rng)
        expected_theta, expected_losses = oracles.train(adapter.model, X, y, theta, lr, epochs)
        canon = dict(X=X, y=y, theta=theta, lr=lr, epochs=epochs)
        got, _, inputs = adapter.invoke(ctx, "train", **canon)
        got_theta, got_losses = got
        theta_ok = close(got_theta, expected_theta, RTOL, ATOL)
        losses_ok = len(got_losses) == len(expected_losses) and close(got_losses, expected_losses, LOSS_RTOL, ATOL)
        if theta_ok and losses_ok:
            return None
        seen = [diagnose.Observation(canon, (got_theta, got_losses))]
        hint = diagnose.diagnose(adapter.model, "train", seen, prober(ctx, adapter, "train"))
        if hint is None and not (np.all(np.isfinite(got_theta)) and np.all(np.isfinite(got_losses))):
            hint = diagnose.not_finite_hint(adapter.model, "train", canon)
        if len(got_losses) != len(expected_losses):
            raise Failure(f"{label}: losses must have epochs × n = {epochs} × {len(X)} = "
                          f"{len(expected_losses)} entries, got {len(got_losses)}",
                          expected=f"{len(expected_losses)} losses", got=f"{len(got_losses)} losses",
                          inputs=inputs, hint=hint)
        if not theta_ok:
            raise Failure(f"{label}: the final parameters must be {fmt(expected_theta)}, got "
                          f"{fmt(got_theta)}", expected=adapter.show_theta(expected_theta),
                          got=adapter.show_theta(got_theta), inputs=inputs, hint=hint)
        first = int(np.argmax(~np.isclose(got_losses, expected_losses, rtol=LOSS_RTOL, atol=ATOL)))
        raise Failure(f"{label}: loss {first + 1} (epoch {first // len(X) + 1}, sample "
                      f"{first % len(X) + 1}) must be {fmt(expected_losses[first])}, got "
                      f"{fmt(got_losses[first])}", expected=fmt(expected_losses), got=fmt(got_losses),
                      inputs=inputs, hint=hint)
    return Check(adapter.module, "train", title, kind, slides or adapter.slide("train"), run)


def random_run(adapter):
    def make(rng):
        d = adapter.features[-1]
        n, epochs = 6, 3
        X = np.column_stack([np.ones(n), rng.uniform(-1.5, 1.5, (n, d)).round(3)])
        if adapter.model == "linear":
            y = rng.uniform(-5, 5, n).round(3)
        else:
            y = rng.integers(0, 2, n).astype(float)
        # not 0.05 or 0.2: there, a fixed lr = 0.1 and a gradient off by a factor 2 look the same
        lr = float(rng.choice([0.02, 0.03, 0.15]))
        return (f"random data ({n} samples, {d} feature{'s' * (d > 1)}), lr = {lr}, {epochs} epochs",
                X, y, rng.normal(0, 0.5, d + 1).round(3), lr, epochs)
    return make


def train_checks(adapter):
    out = []
    for label, X, y, theta, lr, epochs in training_runs(adapter):
        slides = label.split(":")[0].replace("slides ", "") if label.startswith("slides") else ""
        run = (label, X, y, theta, lr, epochs)
        out.append(train_check(adapter, f"follows the five steps on {label.split(':')[0]}",
                               lambda rng, run=run: run, slides=slides))
    out.append(train_check(adapter, "follows the five steps on random data", random_run(adapter),
                           kind="random"))
    out.append(contract_check(adapter, "train"))
    return out


def standard_checks(adapter):
    """All the shared checks of one module, in lecture order."""
    out = []
    for function in ("predict", "loss", "gradient", "update"):
        out += worked_checks(adapter, function)
        out.append(random_check(adapter, function))
        if function == "gradient":
            out.append(chain_check(adapter))
        if function == "loss":
            out.append(loss_zero_check(adapter))
        if function == "update":
            out.append(descent_check(adapter))
        out.append(contract_check(adapter, function))
    out += train_checks(adapter)
    return out
