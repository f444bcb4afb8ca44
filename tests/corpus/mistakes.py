'''Wrong implementations of the student functions: the common mistakes, one function each.

Each entry replaces ONE function of solutions/ (its whole def) by `code`; the rest of the solution
stays. tests/test_corpus.py grades every entry and asserts that

- `function` loses points, with a failure message that names a slide;
- when `hint` is set, one of the function's failed checks carries a hint containing it (the
  mistake is one that autograder/diagnose.py or a check knows by name); no hint anywhere in the
  report contains a fragment of `not_hints` (the hint of another mistake that would mislead);
- when `kinds` is set, only checks of these kinds fail in `function` (e.g. ("style",) for a
  mistake that costs the style point and nothing else);
- the functions of the same module listed in `cascade` lose points too (they call the broken
  one: `train` calls the module's helpers, logistic `predict` calls `sigmoid`), and every other
  function of the submission scores full marks. `cascade_kinds`, when set, restricts the checks
  that may fail in the cascaded functions in the same way.

To add a mistake, append an entry. `code` may hold other top-level statements beside the def
(an import, a helper); they land where the replaced function stood.
'''
from __future__ import annotations

from dataclasses import dataclass

BASIC = "linear_regression_basic"
NUMPY = "linear_regression_numpy"
LOGISTIC = "logistic_regression"


@dataclass(frozen=True)
class Mistake:
    id: str
    module: str
    function: str
    description: str
    code: str
    hint: str | None = None          # a fragment of the hint the grader should give
    cascade: tuple = ()              # other functions of the module that lose points as well
    kinds: tuple | None = None       # if set: the only check kinds that may fail in `function`
    cascade_kinds: tuple | None = None  # if set: the only check kinds that may fail in `cascade`
    not_hints: tuple = ()            # fragments that no hint of the report may contain


TRAIN = ("train",)
FIXED_LR = ("not a fixed 0.1",)
NO_STEPS = ("fails its own checks", "fail their own checks")  # steps that fail only STYLE are no cause  # a gradient off by 2 moves θ like lr 0.1 when lr is 0.05 or 0.2

MISTAKES = [
    # ------------------------------------------------------------------ linear_regression_basic
    Mistake("basic-predict-no-bias", BASIC, "predict", "the bias b is left out: ŷ = wx",
            """
            def predict(x, w, b):
                return w * x
            """, hint="the bias b is missing", cascade=TRAIN),
    Mistake("basic-predict-swapped-w-b", BASIC, "predict", "w and b change places: ŷ = bx + w",
            """
            def predict(x, w, b):
                return b * x + w
            """, hint="w and b are swapped", cascade=TRAIN),
    Mistake("basic-predict-numpy-float64", BASIC, "predict",
            "imports NumPy at the top of the plain-Python module and returns np.float64: right "
            "values, but predict no longer runs without NumPy: it loses its style point, and so "
            "does train, which calls it; the functions that do not use NumPy keep theirs",
            """
            import numpy as np


            def predict(x, w, b):
                return np.float64(w * x + b)
            """, hint="plain-Python version", kinds=("style",), cascade=TRAIN,
            cascade_kinds=("style",), not_hints=NO_STEPS),
    Mistake("basic-predict-numpy-inside", BASIC, "predict",
            "imports NumPy inside predict (np.dot): right values, only the style point of predict "
            "(and of train, which calls predict) is lost",
            """
            def predict(x, w, b):
                import numpy as np
                return float(np.dot(w, x) + b)
            """, hint="plain-Python version", kinds=("style",), cascade=TRAIN,
            cascade_kinds=("style",), not_hints=NO_STEPS),
    Mistake("basic-predict-hard-coded", BASIC, "predict",
            "an if-chain on the worked inputs of slides 6 and 20, 0 elsewhere",
            """
            def predict(x, w, b):
                if (x, w, b) == (2.0, 2.0, 2.0):
                    return 6.0
                if (x, w, b) == (3.0, 2.0, 2.0):
                    return 8.0
                return 0.0
            """, hint='worked values but not', cascade=TRAIN),
    Mistake("basic-loss-not-squared", BASIC, "loss", "the difference is not squared: L = ŷ − y",
            """
            def loss(y_hat, y):
                return y_hat - y
            """, hint="square the difference", cascade=TRAIN),
    Mistake("basic-loss-absolute", BASIC, "loss", "the absolute error |ŷ − y| instead of its square",
            """
            def loss(y_hat, y):
                return abs(y_hat - y)
            """, hint='|ŷ − y|', cascade=TRAIN),
    Mistake("basic-loss-hard-coded", BASIC, "loss", "returns slide 6's value 144 for every input",
            """
            def loss(y_hat, y):
                return 144.0
            """, hint='whatever its inputs', cascade=TRAIN),
    Mistake("basic-gradient-no-factor-2", BASIC, "gradient",
            "the factor 2 is missing: dw = x(ŷ − y), db = ŷ − y",
            """
            def gradient(x, y_hat, y):
                return x * (y_hat - y), y_hat - y
            """, hint="the factor 2 is missing", cascade=TRAIN, not_hints=FIXED_LR),
    Mistake("basic-gradient-swapped", BASIC, "gradient", "returns (db, dw) instead of (dw, db)",
            """
            def gradient(x, y_hat, y):
                dw = 2 * x * (y_hat - y)
                db = 2 * (y_hat - y)
                return db, dw
            """, hint="the two parts are swapped", cascade=TRAIN),
    Mistake("basic-gradient-sign", BASIC, "gradient", "the sign is flipped: 2x(y − ŷ)",
            """
            def gradient(x, y_hat, y):
                return 2 * x * (y - y_hat), 2 * (y - y_hat)
            """, hint="the sign is flipped", cascade=TRAIN),
    Mistake("basic-gradient-db-with-x", BASIC, "gradient",
            "copy-paste: db = 2x(ŷ − y), with the x that belongs to dw only",
            """
            def gradient(x, y_hat, y):
                dw = 2 * x * (y_hat - y)
                db = 2 * x * (y_hat - y)
                return dw, db
            """, hint="∂L/∂b has no factor x", cascade=TRAIN),
    Mistake("basic-gradient-no-x", BASIC, "gradient", "forgets the x of ∂L/∂w: dw = 2(ŷ − y)",
            """
            def gradient(x, y_hat, y):
                return 2 * (y_hat - y), 2 * (y_hat - y)
            """, hint="∂L/∂w has the factor x", cascade=TRAIN),
    Mistake("basic-update-swapped", BASIC, "update", "returns (b, w) instead of (w, b)",
            """
            def update(w, b, dw, db, lr):
                return b - lr * db, w - lr * dw
            """, hint="the results are swapped", cascade=TRAIN),
    Mistake("basic-update-fixed-lr", BASIC, "update", "uses lr = 0.1 (the slides' η) instead of lr",
            """
            def update(w, b, dw, db, lr):
                return w - 0.1 * dw, b - 0.1 * db
            """, hint="not a fixed 0.1", cascade=TRAIN),
    Mistake("basic-update-plus", BASIC, "update", "climbs the gradient: w + lr·dw",
            """
            def update(w, b, dw, db, lr):
                return w + lr * dw, b + lr * db
            """, hint="step against the gradient", cascade=TRAIN),
    Mistake("basic-update-no-lr", BASIC, "update", "forgets the learning rate: w − dw",
            """
            def update(w, b, dw, db, lr):
                return w - dw, b - db
            """, hint="multiply the gradient by the learning rate", cascade=TRAIN),
    Mistake("basic-train-one-epoch", BASIC, "train", "one pass over the data, whatever epochs says",
            """
            def train(xs, ys, w, b, lr, epochs):
                losses = []
                for x, y in zip(xs, ys):
                    y_hat = predict(x, w, b)
                    losses.append(loss(y_hat, y))
                    dw, db = gradient(x, y_hat, y)
                    w, b = update(w, b, dw, db, lr)
                return w, b, losses
            """, hint="train runs for every epoch"),
    Mistake("basic-train-fixed-lr", BASIC, "train", "passes lr = 0.1 to update instead of lr",
            """
            def train(xs, ys, w, b, lr, epochs):
                losses = []
                for _ in range(epochs):
                    for x, y in zip(xs, ys):
                        y_hat = predict(x, w, b)
                        losses.append(loss(y_hat, y))
                        dw, db = gradient(x, y_hat, y)
                        w, b = update(w, b, dw, db, 0.1)
                return w, b, losses
            """, hint="not a fixed 0.1"),
    Mistake("basic-train-loss-after-update", BASIC, "train",
            "records the loss after the update (step 3 after step 5)",
            """
            def train(xs, ys, w, b, lr, epochs):
                losses = []
                for _ in range(epochs):
                    for x, y in zip(xs, ys):
                        y_hat = predict(x, w, b)
                        dw, db = gradient(x, y_hat, y)
                        w, b = update(w, b, dw, db, lr)
                        losses.append(loss(predict(x, w, b), y))
                return w, b, losses
            """, hint="record each loss before the update"),
    Mistake("basic-train-last-epoch-losses", BASIC, "train",
            "starts a new list of losses every epoch: returns only the last epoch's losses",
            """
            def train(xs, ys, w, b, lr, epochs):
                for _ in range(epochs):
                    losses = []
                    for x, y in zip(xs, ys):
                        y_hat = predict(x, w, b)
                        losses.append(loss(y_hat, y))
                        dw, db = gradient(x, y_hat, y)
                        w, b = update(w, b, dw, db, lr)
                return w, b, losses
            """, hint="epochs × n losses"),

    # ------------------------------------------------------------------ linear_regression_numpy
    Mistake("numpy-predict-no-bias", NUMPY, "predict", "drops the bias: ŷ = w·x without θ₀",
            """
            def predict(x, theta):
                return x[1:] @ theta[1:]
            """, hint="the bias b is missing", cascade=TRAIN),
    Mistake("numpy-predict-loop", NUMPY, "predict",
            "a Python for-loop over the entries: right values, loses only the style point",
            """
            def predict(x, theta):
                total = 0.0
                for j in range(len(x)):
                    total += x[j] * theta[j]
                return total
            """, hint="not a loop over the entries", kinds=("style",)),
    Mistake("numpy-predict-one-feature", NUMPY, "predict",
            "written for one feature only: θ₀ + θ₁x₁, whatever the length of x",
            """
            def predict(x, theta):
                return theta[0] + theta[1] * x[1]
            """, hint="only the first feature is used", cascade=TRAIN),
    Mistake("numpy-predict-nan", NUMPY, "predict",
            "ŷ = (√(θᵀx))², NaN whenever θᵀx < 0: a predict that returns NaN costs predict's "
            "points (and train's), never gradient's, whose chain check it feeds",
            """
            def predict(x, theta):
                return np.sqrt(x @ theta) ** 2
            """, hint="not finite", cascade=TRAIN),
    Mistake("numpy-loss-halved", NUMPY, "loss", "the ½(ŷ − y)² of other courses",
            """
            def loss(y_hat, y):
                return 0.5 * (y_hat - y) ** 2
            """, hint="has no ½", cascade=TRAIN),
    Mistake("numpy-gradient-no-factor-2", NUMPY, "gradient", "the factor 2 is missing: x(ŷ − y)",
            """
            def gradient(x, y_hat, y):
                return x * (y_hat - y)
            """, hint="the factor 2 is missing", cascade=TRAIN, not_hints=FIXED_LR),
    Mistake("numpy-gradient-loop", NUMPY, "gradient",
            "a list comprehension over the entries of x: right values, loses only the style point",
            """
            def gradient(x, y_hat, y):
                return np.array([2 * x_j * (y_hat - y) for x_j in x])
            """, hint="not a loop over the entries", kinds=("style",)),
    Mistake("numpy-gradient-list", NUMPY, "gradient",
            "returns a Python list instead of an array: right values, fails the contract (and "
            "train, whose update cannot subtract a list times lr)",
            """
            def gradient(x, y_hat, y):
                return (2 * x * (y_hat - y)).tolist()
            """, hint='Python list', kinds=("contract",), cascade=TRAIN),
    Mistake("numpy-gradient-hard-coded", NUMPY, "gradient",
            "an if-chain on the worked inputs of slides 6 and 20, zeros elsewhere",
            """
            def gradient(x, y_hat, y):
                if list(x) == [1.0, 2.0] and y_hat == 6.0 and y == 18.0:
                    return np.array([-24.0, -48.0])
                if list(x) == [1.0, 3.0] and y_hat == 8.0 and y == 22.0:
                    return np.array([-28.0, -84.0])
                return np.zeros_like(x)
            """, hint='worked values but not', cascade=TRAIN),
    Mistake("numpy-update-no-lr", NUMPY, "update", "forgets the learning rate: θ − ∇θL",
            """
            def update(theta, grad, lr):
                return theta - grad
            """, hint="multiply the gradient by the learning rate", cascade=TRAIN),
    Mistake("numpy-update-loop", NUMPY, "update",
            "a for-loop over the components of θ: right values, loses only the style point",
            """
            def update(theta, grad, lr):
                new = theta.copy()
                for j in range(len(theta)):
                    new[j] = theta[j] - lr * grad[j]
                return new
            """, hint="not a loop over the entries", kinds=("style",)),
    Mistake("numpy-update-hard-coded", NUMPY, "update",
            "returns slide 7's θ = [4.4, 6.8] when given slide 6's inputs, θ unchanged otherwise",
            """
            def update(theta, grad, lr):
                if list(theta) == [2.0, 2.0] and list(grad) == [-24.0, -48.0]:
                    return np.array([4.4, 6.8])
                return theta.copy()
            """, cascade=TRAIN),
    Mistake("numpy-train-reversed", NUMPY, "train", "takes the samples last to first",
            """
            def train(X, y, theta, lr, epochs):
                losses = []
                for _ in range(epochs):
                    for x_i, y_i in zip(X[::-1], y[::-1]):
                        y_hat = predict(x_i, theta)
                        losses.append(loss(y_hat, y_i))
                        theta = update(theta, gradient(x_i, y_hat, y_i), lr)
                return theta, losses
            """, hint="take the samples in data order"),
    Mistake("numpy-train-shuffled", NUMPY, "train", "shuffles the samples every epoch (SGD style)",
            """
            def train(X, y, theta, lr, epochs):
                rng = np.random.default_rng(0)
                losses = []
                for _ in range(epochs):
                    for i in rng.permutation(len(X)):
                        y_hat = predict(X[i], theta)
                        losses.append(loss(y_hat, y[i]))
                        theta = update(theta, gradient(X[i], y_hat, y[i]), lr)
                return theta, losses
            """, hint='take the samples in data order'),
    Mistake("numpy-train-no-update", NUMPY, "train",
            "computes the new θ but never keeps it (update's result is dropped)",
            """
            def train(X, y, theta, lr, epochs):
                losses = []
                for _ in range(epochs):
                    for x_i, y_i in zip(X, y):
                        y_hat = predict(x_i, theta)
                        losses.append(loss(y_hat, y_i))
                        update(theta, gradient(x_i, y_hat, y_i), lr)
                return theta, losses
            """, hint="θ never changes"),

    # ------------------------------------------------------------------ logistic_regression
    Mistake("logistic-sigmoid-plus-z", LOGISTIC, "sigmoid", "e^z instead of e^(−z): σ(−z)",
            """
            def sigmoid(z):
                return 1 / (1 + np.exp(z))
            """, hint="the exponent is −z", cascade=("predict", "train")),
    Mistake("logistic-sigmoid-math-exp", LOGISTIC, "sigmoid",
            "math.exp: right for a number, fails on an array (the elementwise contract only)",
            """
            import math


            def sigmoid(z):
                return 1 / (1 + math.exp(-z))
            """, hint="np.exp", kinds=("contract",)),
    Mistake("logistic-sigmoid-if-branch", LOGISTIC, "sigmoid",
            "a stable σ with a Python if on z: right for a number, fails on an array (the "
            "elementwise contract only)",
            """
            import math


            def sigmoid(z):
                if z >= 0:
                    return 1 / (1 + math.exp(-z))
                return math.exp(z) / (1 + math.exp(z))
            """, hint="np.where", kinds=("contract",)),
    Mistake("logistic-sigmoid-no-one-plus", LOGISTIC, "sigmoid", "1 / e^(−z): the 1 + is missing",
            """
            def sigmoid(z):
                return 1 / np.exp(-z)
            """, hint="the 1 + is missing", cascade=("predict", "train")),
    Mistake("logistic-predict-z", LOGISTIC, "predict", "returns z = θᵀx instead of σ(z)",
            """
            def predict(x, theta):
                return x @ theta
            """, hint="this is z = θᵀx", cascade=TRAIN),
    Mistake("logistic-predict-no-bias", LOGISTIC, "predict", "drops the bias: σ(w·x)",
            """
            def predict(x, theta):
                return sigmoid(x[1:] @ theta[1:])
            """, hint="the bias is missing", cascade=TRAIN),
    Mistake("logistic-predict-minus-z", LOGISTIC, "predict", "σ(−θᵀx): a sign too many",
            """
            def predict(x, theta):
                return sigmoid(-(x @ theta))
            """, hint="this is σ(−z)", cascade=TRAIN),
    Mistake("logistic-predict-one-feature", LOGISTIC, "predict",
            "written for Data #1 only: σ(θ₀ + θ₁x₁), whatever the length of x",
            """
            def predict(x, theta):
                return sigmoid(theta[0] + theta[1] * x[1])
            """, hint="only the first feature is used", cascade=TRAIN),
    Mistake("logistic-predict-class", LOGISTIC, "predict",
            "returns the class 0/1 instead of the probability ŷ",
            """
            def predict(x, theta):
                return int(sigmoid(x @ theta) >= 0.5)
            """, hint="this is the class", cascade=TRAIN),
    Mistake("logistic-loss-log10", LOGISTIC, "loss", "log10 instead of the natural log",
            """
            def loss(y_hat, y):
                return -y * np.log10(y_hat) - (1 - y) * np.log10(1 - y_hat)
            """, hint="natural log", cascade=TRAIN),
    Mistake("logistic-loss-no-minus", LOGISTIC, "loss", "the leading minus of the BCE is missing",
            """
            def loss(y_hat, y):
                return y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat)
            """, hint="the minus sign is missing", cascade=TRAIN),
    Mistake("logistic-loss-terms-swapped", LOGISTIC, "loss",
            "log ŷ and log(1 − ŷ) change places",
            """
            def loss(y_hat, y):
                return -y * np.log(1 - y_hat) - (1 - y) * np.log(y_hat)
            """, hint="the terms are swapped", cascade=TRAIN),
    Mistake("logistic-loss-squared-error", LOGISTIC, "loss",
            "keeps linear regression's squared error",
            """
            def loss(y_hat, y):
                return (y_hat - y) ** 2
            """, hint="this is the squared error", cascade=TRAIN),
    Mistake("logistic-loss-slide-figures", LOGISTIC, "loss",
            "an if-chain that returns the slides' rounded losses for the worked ŷ",
            """
            def loss(y_hat, y):
                if round(y_hat, 4) == 0.5374:
                    return 0.771
                if round(y_hat, 4) == 0.5298:
                    return 0.755
                if round(y_hat, 4) == 0.5207:
                    return 0.735
                if round(y_hat, 4) == 0.5866:
                    return 0.883
                return -y * np.log(y_hat) - (1 - y) * np.log(1 - y_hat)
            """, hint="the slide's rounded figure", cascade=TRAIN),
    Mistake("logistic-gradient-factor-2", LOGISTIC, "gradient",
            "keeps the linear regression's factor 2: 2x(ŷ − y)",
            """
            def gradient(x, y_hat, y):
                return 2 * x * (y_hat - y)
            """, hint="that is the linear regression gradient", cascade=TRAIN, not_hints=FIXED_LR),
    Mistake("logistic-gradient-mse", LOGISTIC, "gradient",
            "the squared error's gradient through σ: x(ŷ − y)ŷ(1 − ŷ)",
            """
            def gradient(x, y_hat, y):
                return x * (y_hat - y) * y_hat * (1 - y_hat)
            """, hint="ŷ(1 − ŷ) cancels", cascade=TRAIN),
    Mistake("logistic-gradient-mse-with-2", LOGISTIC, "gradient",
            "the squared error's gradient through σ, factor 2 included: 2x(ŷ − y)ŷ(1 − ŷ)",
            """
            def gradient(x, y_hat, y):
                return 2 * x * (y_hat - y) * y_hat * (1 - y_hat)
            """, hint="the gradient of the squared error through σ", cascade=TRAIN),
    Mistake("logistic-gradient-sign", LOGISTIC, "gradient", "the sign is flipped: x(y − ŷ)",
            """
            def gradient(x, y_hat, y):
                return x * (y - y_hat)
            """, hint="the sign is flipped", cascade=TRAIN),
    Mistake("logistic-gradient-no-x", LOGISTIC, "gradient", "forgets the factor x: (ŷ − y) everywhere",
            """
            def gradient(x, y_hat, y):
                return (y_hat - y) * np.ones_like(x)
            """, hint="multiply by x", cascade=TRAIN),
    Mistake("logistic-update-plus", LOGISTIC, "update", "climbs the gradient: θ + η∇θL",
            """
            def update(theta, grad, lr):
                return theta + lr * grad
            """, hint="step against the gradient", cascade=TRAIN),
    Mistake("logistic-update-fixed-lr", LOGISTIC, "update", "uses lr = 0.1 instead of lr",
            """
            def update(theta, grad, lr):
                return theta - 0.1 * grad
            """, hint="not a fixed 0.1", cascade=TRAIN),
    Mistake("logistic-classify-strict", LOGISTIC, "classify", "ŷ > threshold instead of ≥",
            """
            def classify(y_hat, threshold=0.5):
                return int(y_hat > threshold)
            """, hint="at the threshold itself the class is 1"),
    Mistake("logistic-classify-fixed-threshold", LOGISTIC, "classify",
            "ignores the threshold argument and compares with 0.5",
            """
            def classify(y_hat, threshold=0.5):
                return int(y_hat >= 0.5)
            """, hint="use the threshold argument"),
    Mistake("logistic-classify-round", LOGISTIC, "classify",
            "round(ŷ): ignores the threshold, and Python rounds 0.5 to 0",
            """
            def classify(y_hat, threshold=0.5):
                return round(y_hat)
            """, hint='ŷ > 0.5'),
    Mistake("logistic-classify-probability", LOGISTIC, "classify",
            "returns ŷ itself, not a class",
            """
            def classify(y_hat, threshold=0.5):
                return y_hat
            """, hint="looks like a probability"),
    Mistake("logistic-train-loss-after-update", LOGISTIC, "train",
            "records the loss after the update",
            """
            def train(X, y, theta, lr, epochs):
                losses = []
                for _ in range(epochs):
                    for x_i, y_i in zip(X, y):
                        y_hat = predict(x_i, theta)
                        theta = update(theta, gradient(x_i, y_hat, y_i), lr)
                        losses.append(loss(predict(x_i, theta), y_i))
                return theta, losses
            """, hint="record each loss before the update"),
    Mistake("logistic-train-one-epoch", LOGISTIC, "train", "ignores epochs: one pass only",
            """
            def train(X, y, theta, lr, epochs):
                losses = []
                for x_i, y_i in zip(X, y):
                    y_hat = predict(x_i, theta)
                    losses.append(loss(y_hat, y_i))
                    theta = update(theta, gradient(x_i, y_hat, y_i), lr)
                return theta, losses
            """, hint="train runs for every epoch"),
    Mistake("logistic-train-fixed-lr", LOGISTIC, "train", "passes lr = 0.1 to update",
            """
            def train(X, y, theta, lr, epochs):
                losses = []
                for _ in range(epochs):
                    for x_i, y_i in zip(X, y):
                        y_hat = predict(x_i, theta)
                        losses.append(loss(y_hat, y_i))
                        theta = update(theta, gradient(x_i, y_hat, y_i), 0.1)
                return theta, losses
            """, hint="not a fixed 0.1"),
]


# ---------------------------------------------------------------------- more of each class
# Mistakes whose numbers coincide with another's on the slides' worked inputs (w = b = 2, x = 2),
# mistakes whose values equal another's everywhere tried, train loops with one loss per epoch,
# full-batch updates or the initial θ returned, and not-finite results with a known cause.

MISTAKES += [
    # ------------------------------------------------------------------ linear_regression_basic
    Mistake("basic-predict-minus-bias", BASIC, "predict", "subtracts the bias: ŷ = wx − b",
            """
            def predict(x, w, b):
                return w * x - b
            """, hint="the bias is subtracted", cascade=TRAIN),
    Mistake("basic-predict-w-plus-b", BASIC, "predict", "forgets x: ŷ = w + b",
            """
            def predict(x, w, b):
                return w + b
            """, hint="x is missing", cascade=TRAIN, not_hints=("the bias b is missing",)),
    Mistake("basic-loss-sqrt-of-square", BASIC, "loss",
            "√((ŷ − y)²), which is |ŷ − y|: the square is taken, then undone",
            """
            import math


            def loss(y_hat, y):
                return math.sqrt((y_hat - y) ** 2)
            """, hint="|ŷ − y|", cascade=TRAIN, not_hints=("square the difference",)),
    Mistake("basic-loss-squares-apart", BASIC, "loss", "ŷ² − y²: each squared on its own",
            """
            def loss(y_hat, y):
                return y_hat ** 2 - y ** 2
            """, hint="ŷ² − y²", cascade=TRAIN),
    Mistake("basic-loss-derivative", BASIC, "loss", "returns the derivative 2(ŷ − y), not the loss",
            """
            def loss(y_hat, y):
                return 2 * (y_hat - y)
            """, hint="the derivative", cascade=TRAIN),
    Mistake("basic-gradient-db-no-2", BASIC, "gradient",
            "the factor 2 only in dw: dw = 2x(ŷ − y), db = ŷ − y",
            """
            def gradient(x, y_hat, y):
                return 2 * x * (y_hat - y), y_hat - y
            """, hint="∂L/∂b lacks the factor 2", cascade=TRAIN),
    Mistake("basic-gradient-dw-no-2", BASIC, "gradient",
            "the factor 2 only in db: dw = x(ŷ − y), db = 2(ŷ − y); on slide 6 (x = 2) this is "
            "also what 'no x in dw' gives",
            """
            def gradient(x, y_hat, y):
                return x * (y_hat - y), 2 * (y_hat - y)
            """, hint="∂L/∂w lacks the factor 2", cascade=TRAIN,
            not_hints=("∂L/∂w has the factor x",)),
    Mistake("basic-gradient-precedence", BASIC, "gradient",
            "parentheses left out: 2 * x * y_hat - y and 2 * y_hat - y",
            """
            def gradient(x, y_hat, y):
                return 2 * x * y_hat - y, 2 * y_hat - y
            """, hint="parentheses", cascade=TRAIN),
    Mistake("basic-gradient-sign-no-2", BASIC, "gradient",
            "both the sign and the factor 2: x(y − ŷ), y − ŷ",
            """
            def gradient(x, y_hat, y):
                return x * (y - y_hat), y - y_hat
            """, hint="the sign is flipped and the factor 2 is missing", cascade=TRAIN),
    Mistake("basic-gradient-numpy-inside", BASIC, "gradient",
            "np.multiply inside gradient: right values, only the style points of gradient and "
            "train are lost, and train's hint must not blame a step that fails only its style",
            """
            def gradient(x, y_hat, y):
                import numpy as np
                return float(np.multiply(2 * x, y_hat - y)), float(2 * (y_hat - y))
            """, hint="plain-Python version", kinds=("style",), cascade=TRAIN,
            cascade_kinds=("style",), not_hints=NO_STEPS),
    Mistake("basic-update-crossed", BASIC, "update",
            "w stepped with db and b with dw; on slides 6–7 (w = b) it gives what swapped results give",
            """
            def update(w, b, dw, db, lr):
                return w - lr * db, b - lr * dw
            """, hint="crossed", cascade=TRAIN, not_hints=("the results are swapped",)),
    Mistake("basic-update-returns-step", BASIC, "update", "returns the step η·dw, η·db instead of w, b",
            """
            def update(w, b, dw, db, lr):
                return lr * dw, lr * db
            """, hint="the step", cascade=TRAIN),
    Mistake("basic-update-b-kept", BASIC, "update", "updates w only: b is returned unchanged",
            """
            def update(w, b, dw, db, lr):
                return w - lr * dw, b
            """, hint="b is not updated", cascade=TRAIN),
    Mistake("basic-train-one-loss-per-epoch", BASIC, "train",
            "losses.append outside the sample loop: one loss (the last sample's) per epoch",
            """
            def train(xs, ys, w, b, lr, epochs):
                losses = []
                for _ in range(epochs):
                    for x, y in zip(xs, ys):
                        y_hat = predict(x, w, b)
                        current = loss(y_hat, y)
                        dw, db = gradient(x, y_hat, y)
                        w, b = update(w, b, dw, db, lr)
                    losses.append(current)
                return w, b, losses
            """, hint="one loss per epoch"),
    Mistake("basic-train-mean-loss-per-epoch", BASIC, "train",
            "records the epoch's mean loss instead of each sample's",
            """
            def train(xs, ys, w, b, lr, epochs):
                losses = []
                for _ in range(epochs):
                    total = 0.0
                    for x, y in zip(xs, ys):
                        y_hat = predict(x, w, b)
                        total += loss(y_hat, y)
                        dw, db = gradient(x, y_hat, y)
                        w, b = update(w, b, dw, db, lr)
                    losses.append(total / len(xs))
                return w, b, losses
            """, hint="one loss per epoch"),
    Mistake("basic-train-full-batch", BASIC, "train",
            "full-batch gradient descent: the gradients of an epoch averaged, one update per epoch",
            """
            def train(xs, ys, w, b, lr, epochs):
                losses = []
                for _ in range(epochs):
                    sum_dw = sum_db = 0.0
                    for x, y in zip(xs, ys):
                        y_hat = predict(x, w, b)
                        losses.append(loss(y_hat, y))
                        dw, db = gradient(x, y_hat, y)
                        sum_dw += dw
                        sum_db += db
                    w, b = update(w, b, sum_dw / len(xs), sum_db / len(xs), lr)
                return w, b, losses
            """, hint="full-batch"),
    Mistake("basic-train-returns-initial", BASIC, "train",
            "trains new_w, new_b but returns the w, b it was given",
            """
            def train(xs, ys, w, b, lr, epochs):
                new_w, new_b = w, b
                losses = []
                for _ in range(epochs):
                    for x, y in zip(xs, ys):
                        y_hat = predict(x, new_w, new_b)
                        losses.append(loss(y_hat, y))
                        dw, db = gradient(x, y_hat, y)
                        new_w, new_b = update(new_w, new_b, dw, db, lr)
                return w, b, losses
            """, hint="the initial"),
    Mistake("basic-train-returns-b-w", BASIC, "train", "returns (b, w, losses) instead of (w, b, losses)",
            """
            def train(xs, ys, w, b, lr, epochs):
                losses = []
                for _ in range(epochs):
                    for x, y in zip(xs, ys):
                        y_hat = predict(x, w, b)
                        losses.append(loss(y_hat, y))
                        dw, db = gradient(x, y_hat, y)
                        w, b = update(w, b, dw, db, lr)
                return b, w, losses
            """, hint="w and b are swapped"),

    # ------------------------------------------------------------------ linear_regression_numpy
    Mistake("numpy-predict-bias-twice", NUMPY, "predict", "adds the bias again: θᵀx + θ₀",
            """
            def predict(x, theta):
                return x @ theta + theta[0]
            """, hint="the bias is counted twice", cascade=TRAIN),
    Mistake("numpy-loss-sqrt-of-square", NUMPY, "loss", "np.sqrt((ŷ − y)²), which is |ŷ − y|",
            """
            def loss(y_hat, y):
                return np.sqrt((y_hat - y) ** 2)
            """, hint="|ŷ − y|", cascade=TRAIN, not_hints=("square the difference",)),
    Mistake("numpy-loss-reversed-not-squared", NUMPY, "loss", "y − ŷ, neither squared",
            """
            def loss(y_hat, y):
                return y - y_hat
            """, hint="square the difference", cascade=TRAIN),
    Mistake("numpy-gradient-sign-no-2", NUMPY, "gradient", "x(y − ŷ): the sign and the factor 2",
            """
            def gradient(x, y_hat, y):
                return x * (y - y_hat)
            """, hint="the sign is flipped and the factor 2 is missing", cascade=TRAIN),
    Mistake("numpy-gradient-reversed", NUMPY, "gradient", "the gradient's entries in reverse order",
            """
            def gradient(x, y_hat, y):
                return (2 * x * (y_hat - y))[::-1]
            """, hint="the two parts are swapped", cascade=TRAIN),
    Mistake("numpy-update-returns-step", NUMPY, "update", "returns η∇θL instead of the new θ",
            """
            def update(theta, grad, lr):
                return lr * grad
            """, hint="the step", cascade=TRAIN),
    Mistake("numpy-update-divides-lr", NUMPY, "update", "θ − ∇θL / η",
            """
            def update(theta, grad, lr):
                return theta - grad / lr
            """, hint="divides", cascade=TRAIN),
    Mistake("numpy-update-plus", NUMPY, "update", "climbs the gradient: θ + η∇θL",
            """
            def update(theta, grad, lr):
                return theta + lr * grad
            """, hint="step against the gradient", cascade=TRAIN),
    Mistake("numpy-train-one-loss-per-epoch", NUMPY, "train",
            "losses.append after the sample loop: the last sample's loss, once per epoch",
            """
            def train(X, y, theta, lr, epochs):
                losses = []
                for _ in range(epochs):
                    for x_i, y_i in zip(X, y):
                        y_hat = predict(x_i, theta)
                        current = loss(y_hat, y_i)
                        theta = update(theta, gradient(x_i, y_hat, y_i), lr)
                    losses.append(current)
                return theta, losses
            """, hint="one loss per epoch"),
    Mistake("numpy-train-full-batch", NUMPY, "train",
            "full batch: the mean gradient over X at the epoch's θ, one update per epoch",
            """
            def train(X, y, theta, lr, epochs):
                losses = []
                for _ in range(epochs):
                    grads = []
                    for x_i, y_i in zip(X, y):
                        y_hat = predict(x_i, theta)
                        losses.append(loss(y_hat, y_i))
                        grads.append(gradient(x_i, y_hat, y_i))
                    theta = update(theta, np.mean(grads, axis=0), lr)
                return theta, losses
            """, hint="full-batch"),
    Mistake("numpy-train-full-batch-sum", NUMPY, "train",
            "full batch with the gradients summed, one update per epoch",
            """
            def train(X, y, theta, lr, epochs):
                losses = []
                for _ in range(epochs):
                    total = np.zeros_like(theta)
                    for x_i, y_i in zip(X, y):
                        y_hat = predict(x_i, theta)
                        losses.append(loss(y_hat, y_i))
                        total = total + gradient(x_i, y_hat, y_i)
                    theta = update(theta, total, lr)
                return theta, losses
            """, hint="full-batch"),
    Mistake("numpy-train-returns-initial", NUMPY, "train",
            "keeps the trained θ in new_theta and returns the θ it was given",
            """
            def train(X, y, theta, lr, epochs):
                new_theta = theta.copy()
                losses = []
                for _ in range(epochs):
                    for x_i, y_i in zip(X, y):
                        y_hat = predict(x_i, new_theta)
                        losses.append(loss(y_hat, y_i))
                        new_theta = update(new_theta, gradient(x_i, y_hat, y_i), lr)
                return theta, losses
            """, hint="the initial"),
    Mistake("numpy-train-loss-after-update", NUMPY, "train", "records the loss after the update",
            """
            def train(X, y, theta, lr, epochs):
                losses = []
                for _ in range(epochs):
                    for x_i, y_i in zip(X, y):
                        theta = update(theta, gradient(x_i, predict(x_i, theta), y_i), lr)
                        losses.append(loss(predict(x_i, theta), y_i))
                return theta, losses
            """, hint="record each loss before the update"),
    Mistake("numpy-train-epochs-from-1", NUMPY, "train", "range(1, epochs): one epoch too few",
            """
            def train(X, y, theta, lr, epochs):
                losses = []
                for _ in range(1, epochs):
                    for x_i, y_i in zip(X, y):
                        y_hat = predict(x_i, theta)
                        losses.append(loss(y_hat, y_i))
                        theta = update(theta, gradient(x_i, y_hat, y_i), lr)
                return theta, losses
            """, hint="passes over the data"),
    Mistake("numpy-train-running-total", NUMPY, "train",
            "appends the running total of the losses instead of each loss",
            """
            def train(X, y, theta, lr, epochs):
                losses, total = [], 0.0
                for _ in range(epochs):
                    for x_i, y_i in zip(X, y):
                        y_hat = predict(x_i, theta)
                        total += loss(y_hat, y_i)
                        losses.append(total)
                        theta = update(theta, gradient(x_i, y_hat, y_i), lr)
                return theta, losses
            """, hint="running total"),

    # ------------------------------------------------------------------ logistic_regression
    Mistake("logistic-sigmoid-no-reciprocal", LOGISTIC, "sigmoid", "1 + e^(−z), not its reciprocal",
            """
            def sigmoid(z):
                return 1 + np.exp(-z)
            """, hint="reciprocal", cascade=("predict", "train")),
    Mistake("logistic-sigmoid-one-minus", LOGISTIC, "sigmoid", "1 / (1 − e^(−z))",
            """
            def sigmoid(z):
                return 1 / (1 - np.exp(-z))
            """, hint="1 − e^(−z)", cascade=("predict", "train")),
    Mistake("logistic-sigmoid-ratio-minus", LOGISTIC, "sigmoid",
            "e^(−z) / (1 + e^(−z)), which is σ(−z)",
            """
            def sigmoid(z):
                return np.exp(-z) / (1 + np.exp(-z))
            """, hint="σ(−z)", cascade=("predict", "train")),
    Mistake("logistic-predict-one-minus-sigma", LOGISTIC, "predict", "1 − σ(θᵀx), which is σ(−z)",
            """
            def predict(x, theta):
                return 1 - sigmoid(x @ theta)
            """, hint="this is σ(−z)", cascade=TRAIN),
    Mistake("logistic-predict-bias-twice", LOGISTIC, "predict", "σ(θᵀx + θ₀): the bias twice",
            """
            def predict(x, theta):
                return sigmoid(x @ theta + theta[0])
            """, hint="the bias is counted twice", cascade=TRAIN),
    Mistake("logistic-loss-first-term-only", LOGISTIC, "loss", "−y log ŷ only",
            """
            def loss(y_hat, y):
                return -y * np.log(y_hat)
            """, hint="only the term −y log ŷ", cascade=TRAIN),
    Mistake("logistic-loss-second-term-only", LOGISTIC, "loss",
            "−(1 − y) log(1 − ŷ) only: right on every worked value (all have y = 0)",
            """
            def loss(y_hat, y):
                return -(1 - y) * np.log(1 - y_hat)
            """, hint="only the term −(1 − y) log(1 − ŷ)", cascade=TRAIN),
    Mistake("logistic-loss-log2", LOGISTIC, "loss", "log base 2",
            """
            def loss(y_hat, y):
                return -y * np.log2(y_hat) - (1 - y) * np.log2(1 - y_hat)
            """, hint="natural log", cascade=TRAIN),
    Mistake("logistic-loss-second-sign", LOGISTIC, "loss", "+ (1 − y) log(1 − ŷ): the second sign",
            """
            def loss(y_hat, y):
                return -y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat)
            """, hint="second term", cascade=TRAIN),
    Mistake("logistic-loss-log-one-minus-y", LOGISTIC, "loss",
            "a typo, log(1 − y) for log(1 − ŷ): 0 for y = 0, NaN (0·log 0) for y = 1",
            """
            def loss(y_hat, y):
                return -y * np.log(y_hat) - (1 - y) * np.log(1 - y)
            """, hint="log(1 − y)", cascade=TRAIN),
    Mistake("logistic-gradient-dl-dyhat", LOGISTIC, "gradient",
            "∂L/∂ŷ times x: x(ŷ − y) / (ŷ(1 − ŷ)), the σ′ of the chain rule left out",
            """
            def gradient(x, y_hat, y):
                return x * (y_hat - y) / (y_hat * (1 - y_hat))
            """, hint="∂L/∂ŷ", cascade=TRAIN),
    Mistake("logistic-gradient-precedence", LOGISTIC, "gradient", "x * y_hat - y: parentheses",
            """
            def gradient(x, y_hat, y):
                return x * y_hat - y
            """, hint="parentheses", cascade=TRAIN),
    Mistake("logistic-update-returns-step", LOGISTIC, "update", "returns η∇θL",
            """
            def update(theta, grad, lr):
                return lr * grad
            """, hint="the step", cascade=TRAIN),
    Mistake("logistic-update-no-lr", LOGISTIC, "update", "θ − ∇θL",
            """
            def update(theta, grad, lr):
                return theta - grad
            """, hint="multiply the gradient by the learning rate", cascade=TRAIN),
    Mistake("logistic-classify-inverted", LOGISTIC, "classify", "1 when ŷ < threshold",
            """
            def classify(y_hat, threshold=0.5):
                return int(y_hat < threshold)
            """, hint="inverted"),
    Mistake("logistic-classify-strict-fixed", LOGISTIC, "classify", "ŷ > 0.5, whatever the threshold",
            """
            def classify(y_hat, threshold=0.5):
                return int(y_hat > 0.5)
            """, hint="ŷ > 0.5"),
    Mistake("logistic-train-one-loss-per-epoch", LOGISTIC, "train", "one loss per epoch (the last)",
            """
            def train(X, y, theta, lr, epochs):
                losses = []
                for _ in range(epochs):
                    for x_i, y_i in zip(X, y):
                        y_hat = predict(x_i, theta)
                        current = loss(y_hat, y_i)
                        theta = update(theta, gradient(x_i, y_hat, y_i), lr)
                    losses.append(current)
                return theta, losses
            """, hint="one loss per epoch"),
    Mistake("logistic-train-full-batch", LOGISTIC, "train",
            "full batch, vectorized: one averaged update per epoch, the epoch's losses",
            """
            def train(X, y, theta, lr, epochs):
                losses = []
                for _ in range(epochs):
                    y_hat = sigmoid(X @ theta)
                    losses.extend(-y * np.log(y_hat) - (1 - y) * np.log(1 - y_hat))
                    theta = theta - lr * X.T @ (y_hat - y) / len(X)
                return theta, losses
            """, hint="full-batch"),
    Mistake("logistic-train-returns-initial", LOGISTIC, "train", "returns the θ it was given",
            """
            def train(X, y, theta, lr, epochs):
                current = theta
                losses = []
                for _ in range(epochs):
                    for x_i, y_i in zip(X, y):
                        y_hat = predict(x_i, current)
                        losses.append(loss(y_hat, y_i))
                        current = update(current, gradient(x_i, y_hat, y_i), lr)
                return theta, losses
            """, hint="the initial"),
    Mistake("logistic-train-reversed", LOGISTIC, "train", "the samples last to first",
            """
            def train(X, y, theta, lr, epochs):
                losses = []
                for _ in range(epochs):
                    for i in range(len(X) - 1, -1, -1):
                        y_hat = predict(X[i], theta)
                        losses.append(loss(y_hat, y[i]))
                        theta = update(theta, gradient(X[i], y_hat, y[i]), lr)
                return theta, losses
            """, hint="take the samples in data order"),

    # ------------------------------------------------------------------ the rest of the catalogue
    Mistake("basic-predict-bias-only", BASIC, "predict", "returns b: the line's intercept only",
            """
            def predict(x, w, b):
                return b
            """, hint="the bias b alone", cascade=TRAIN),
    Mistake("basic-loss-sum-squared", BASIC, "loss", "(ŷ + y)²: a plus for the minus",
            """
            def loss(y_hat, y):
                return (y_hat + y) ** 2
            """, hint="(ŷ + y)²", cascade=TRAIN),
    Mistake("basic-update-unchanged", BASIC, "update", "returns w and b as they came",
            """
            def update(w, b, dw, db, lr):
                w - lr * dw
                b - lr * db
                return w, b
            """, hint="θ comes back unchanged", cascade=TRAIN),
    Mistake("numpy-gradient-loss-times-x", NUMPY, "gradient", "x(ŷ − y)²: the loss, not its derivative",
            """
            def gradient(x, y_hat, y):
                return x * (y_hat - y) ** 2
            """, hint="the loss times x", cascade=TRAIN),
    Mistake("numpy-update-bias-only", NUMPY, "update", "steps θ₀ only: the weights stay",
            """
            def update(theta, grad, lr):
                new = theta.copy()
                new[0] = theta[0] - lr * grad[0]
                return new
            """, hint="w is not updated", cascade=TRAIN),
    Mistake("logistic-predict-exp", LOGISTIC, "predict", "e^(−θᵀx): the sigmoid's inside only",
            """
            def predict(x, theta):
                return np.exp(-(x @ theta))
            """, hint="your ŷ equals e^(−z)", cascade=TRAIN),
    Mistake("logistic-sigmoid-exp-only", LOGISTIC, "sigmoid", "e^(−z) alone",
            """
            def sigmoid(z):
                return np.exp(-z)
            """, hint="your σ(z) equals e^(−z)", cascade=("predict", "train")),
    Mistake("logistic-sigmoid-tanh-no-half", LOGISTIC, "sigmoid", "½(1 + tanh(z)): the z/2 forgotten",
            """
            def sigmoid(z):
                return 0.5 * (1 + np.tanh(z))
            """, hint="σ(2z)", cascade=("predict", "train")),
    Mistake("logistic-update-returns-gradient", LOGISTIC, "update", "returns the gradient it was given",
            """
            def update(theta, grad, lr):
                return grad
            """, hint="the gradient itself", cascade=TRAIN),
    Mistake("logistic-loss-mean-of-terms", LOGISTIC, "loss", "the mean of the two terms: half the BCE",
            """
            def loss(y_hat, y):
                return np.mean([-y * np.log(y_hat), -(1 - y) * np.log(1 - y_hat)])
            """, hint="half the cross-entropy", cascade=TRAIN),
    Mistake("logistic-loss-y-ignored", LOGISTIC, "loss", "−log ŷ, whatever y",
            """
            def loss(y_hat, y):
                return -np.log(y_hat)
            """, hint="−log ŷ whatever y", cascade=TRAIN),
    Mistake("basic-update-b-with-dw", BASIC, "update", "copy-paste: b − lr·dw",
            """
            def update(w, b, dw, db, lr):
                return w - lr * dw, b - lr * dw
            """, hint="b was stepped with ∂L/∂w", cascade=TRAIN),
    Mistake("basic-update-w-with-db", BASIC, "update", "copy-paste: w − lr·db",
            """
            def update(w, b, dw, db, lr):
                return w - lr * db, b - lr * db
            """, hint="w was stepped with ∂L/∂b", cascade=TRAIN),
    Mistake("numpy-update-in-place-returns-none", NUMPY, "update",
            "theta -= lr * grad with no return: None comes back",
            """
            def update(theta, grad, lr):
                theta -= lr * grad
            """, hint="returned None", cascade=TRAIN),
    Mistake("numpy-predict-elementwise", NUMPY, "predict", "x * theta: the products, not their sum",
            """
            def predict(x, theta):
                return x * theta
            """, hint="x * theta entry by entry", cascade=TRAIN),
    Mistake("numpy-train-gradient-args-swapped", NUMPY, "train",
            "calls gradient(x, y, y_hat): the sign of every step is flipped",
            """
            def train(X, y, theta, lr, epochs):
                losses = []
                for _ in range(epochs):
                    for x_i, y_i in zip(X, y):
                        y_hat = predict(x_i, theta)
                        losses.append(loss(y_hat, y_i))
                        theta = update(theta, gradient(x_i, y_i, y_hat), lr)
                return theta, losses
            """, hint="θ moved up the gradient"),
    Mistake("logistic-train-loss-args-swapped", LOGISTIC, "train",
            "calls loss(y, y_hat): log(0) for y = 0 or 1, losses not finite",
            """
            def train(X, y, theta, lr, epochs):
                losses = []
                for _ in range(epochs):
                    for x_i, y_i in zip(X, y):
                        y_hat = predict(x_i, theta)
                        losses.append(loss(y_i, y_hat))
                        theta = update(theta, gradient(x_i, y_hat, y_i), lr)
                return theta, losses
            """, hint="loss(y, ŷ)"),
]

# train returns a part of its result, or its parts in the wrong order (seen in real homework)
_NUMPY_LOOP = """
                losses = []
                for _ in range(epochs):
                    for x_i, y_i in zip(X, y):
                        y_hat = predict(x_i, theta)
                        losses.append(loss(y_hat, y_i))
                        theta = update(theta, gradient(x_i, y_hat, y_i), lr)
"""
_BASIC_LOOP = """
                losses = []
                for _ in range(epochs):
                    for x, y in zip(xs, ys):
                        y_hat = predict(x, w, b)
                        losses.append(loss(y_hat, y))
                        dw, db = gradient(x, y_hat, y)
                        w, b = update(w, b, dw, db, lr)
"""
MISTAKES += [
    Mistake("numpy-train-returns-losses-only", NUMPY, "train", "returns the losses alone",
            "def train(X, y, theta, lr, epochs):" + _NUMPY_LOOP + "                return losses\n",
            hint="the losses alone"),
    Mistake("numpy-train-returns-theta-only", NUMPY, "train", "returns θ alone, no losses",
            "def train(X, y, theta, lr, epochs):" + _NUMPY_LOOP + "                return theta\n",
            hint="θ alone"),
    Mistake("numpy-train-returns-losses-first", NUMPY, "train", "returns (losses, theta)",
            "def train(X, y, theta, lr, epochs):" + _NUMPY_LOOP
            + "                return losses, theta\n", hint="the losses first"),
    Mistake("logistic-train-returns-theta-only", LOGISTIC, "train", "returns θ alone, no losses",
            "def train(X, y, theta, lr, epochs):" + _NUMPY_LOOP + "                return theta\n",
            hint="θ alone"),
    Mistake("basic-train-returns-losses-first", BASIC, "train", "returns (losses, w, b)",
            "def train(xs, ys, w, b, lr, epochs):" + _BASIC_LOOP
            + "                return losses, w, b\n", hint="the losses first"),
    Mistake("basic-train-returns-w-b-only", BASIC, "train", "returns (w, b), no losses",
            "def train(xs, ys, w, b, lr, epochs):" + _BASIC_LOOP + "                return w, b\n",
            hint="(w, b) alone"),
]

# rounding, an average over θ's entries, a sample left out (seen in real homework)
MISTAKES += [
    Mistake("basic-predict-rounded", BASIC, "predict", "rounds ŷ to 2 decimals",
            """
            def predict(x, w, b):
                return round(w * x + b, 2)
            """, hint="rounds its result", cascade=("train",)),
    Mistake("numpy-loss-rounded", NUMPY, "loss", "rounds L to 3 decimals with np.round",
            """
            def loss(y_hat, y):
                return float(np.round((y_hat - y) ** 2, 3))
            """, hint="rounds its result", cascade=("train",)),
    Mistake("logistic-gradient-mean", LOGISTIC, "gradient", "divides the gradient by len(x)",
            """
            def gradient(x, y_hat, y):
                return (y_hat - y) * x / len(x)
            """, hint="divided by len(x)", cascade=("train",)),
    Mistake("numpy-train-last-sample-skipped", NUMPY, "train", "range(len(X) - 1): the last sample left out",
            """
            def train(X, y, theta, lr, epochs):
                losses = []
                for _ in range(epochs):
                    for i in range(len(X) - 1):
                        y_hat = predict(X[i], theta)
                        losses.append(loss(y_hat, y[i]))
                        theta = update(theta, gradient(X[i], y_hat, y[i]), lr)
                return theta, losses
            """, hint="leaves out the last sample"),
    Mistake("logistic-train-first-sample-skipped", LOGISTIC, "train", "range(1, len(X)): the first sample left out",
            """
            def train(X, y, theta, lr, epochs):
                losses = []
                for _ in range(epochs):
                    for i in range(1, len(X)):
                        y_hat = predict(X[i], theta)
                        losses.append(loss(y_hat, y[i]))
                        theta = update(theta, gradient(X[i], y_hat, y[i]), lr)
                return theta, losses
            """, hint="leaves out the first sample"),
]
