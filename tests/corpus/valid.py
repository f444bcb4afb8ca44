'''Right implementations in other styles than solutions/: each must score 100/100.

An entry replaces functions of solutions/ (`functions`: {(module, function): source}) or whole
modules (`modules`: {module: source}); everything else stays as in solutions/. A replacement may
hold other top-level statements beside its def (an import, a helper). tests/test_corpus.py grades
every entry with all checks and asserts full marks with every check passed.

To add a style, append an entry.
'''
from __future__ import annotations

from dataclasses import dataclass, field

BASIC = "linear_regression_basic"
NUMPY = "linear_regression_numpy"
LOGISTIC = "logistic_regression"


@dataclass(frozen=True)
class Style:
    id: str
    description: str
    functions: dict = field(default_factory=dict)   # (module, function) -> source of the def
    modules: dict = field(default_factory=dict)     # module -> source of the whole file


STYLES = [
    Style("float-everywhere", "float(...) around every scalar result, Python floats throughout", {
        (BASIC, "predict"): """
            def predict(x, w, b):
                return float(w * x + b)
            """,
        (BASIC, "loss"): """
            def loss(y_hat, y):
                return float((y_hat - y) ** 2)
            """,
        (BASIC, "gradient"): """
            def gradient(x, y_hat, y):
                return float(2 * x * (y_hat - y)), float(2 * (y_hat - y))
            """,
        (BASIC, "update"): """
            def update(w, b, dw, db, lr):
                return float(w - lr * dw), float(b - lr * db)
            """,
        (NUMPY, "predict"): """
            def predict(x, theta):
                return float(x @ theta)
            """,
        (NUMPY, "loss"): """
            def loss(y_hat, y):
                return float((y_hat - y) ** 2)
            """,
        (LOGISTIC, "predict"): """
            def predict(x, theta):
                return float(sigmoid(float(np.dot(x, theta))))
            """,
        (LOGISTIC, "loss"): """
            def loss(y_hat, y):
                return float(-y * np.log(y_hat) - (1 - y) * np.log(1 - y_hat))
            """,
        (LOGISTIC, "classify"): """
            def classify(y_hat, threshold=0.5):
                return 1 if float(y_hat) >= float(threshold) else 0
            """,
    }),
    Style("numpy-scalars", "NumPy scalars and NumPy functions for every scalar result", {
        (NUMPY, "predict"): """
            def predict(x, theta):
                return np.float64(np.dot(x, theta))
            """,
        (NUMPY, "loss"): """
            def loss(y_hat, y):
                return np.square(np.float64(y_hat) - y)
            """,
        (NUMPY, "gradient"): """
            def gradient(x, y_hat, y):
                return np.multiply(2.0 * (y_hat - y), x)
            """,
        (NUMPY, "update"): """
            def update(theta, grad, lr):
                return np.subtract(theta, np.multiply(lr, grad))
            """,
        (LOGISTIC, "loss"): """
            def loss(y_hat, y):
                y_hat = np.float64(y_hat)
                return -(y * np.log(y_hat) + (1 - y) * np.log1p(-y_hat))
            """,
        (LOGISTIC, "classify"): """
            def classify(y_hat, threshold=0.5):
                return np.int64(y_hat >= threshold)
            """,
    }),
    Style("dot-theta-T", "θᵀx written as theta.T @ x", {
        (NUMPY, "predict"): """
            def predict(x, theta):
                return theta.T @ x
            """,
        (LOGISTIC, "predict"): """
            def predict(x, theta):
                return sigmoid(theta.T @ x)
            """,
    }),
    Style("dot-np-sum", "θᵀx written as np.sum(x * theta), and np.dot(theta, x)", {
        (NUMPY, "predict"): """
            def predict(x, theta):
                return np.sum(x * theta)
            """,
        (LOGISTIC, "predict"): """
            def predict(x, theta):
                z = np.dot(theta, x)
                return sigmoid(z)
            """,
    }),
    Style("in-place-updates", "theta -= lr * grad; return theta (and w -= lr * dw in plain Python)", {
        (BASIC, "update"): """
            def update(w, b, dw, db, lr):
                w -= lr * dw
                b -= lr * db
                return w, b
            """,
        (NUMPY, "update"): """
            def update(theta, grad, lr):
                theta -= lr * grad
                return theta
            """,
        (LOGISTIC, "update"): """
            def update(theta, grad, lr):
                theta -= lr * grad
                return theta
            """,
    }),
    Style("sigmoid-two-branch", "the overflow-free σ with np.where and two branches", {
        (LOGISTIC, "sigmoid"): """
            def sigmoid(z):
                z = np.asarray(z, dtype=float)
                e = np.exp(-np.abs(z))
                return np.where(z >= 0, 1 / (1 + e), e / (1 + e))
            """,
    }),
    Style("sigmoid-logaddexp", "σ(z) = exp(−log(1 + e^(−z))) with np.logaddexp", {
        (LOGISTIC, "sigmoid"): """
            def sigmoid(z):
                return np.exp(-np.logaddexp(0, -z))
            """,
    }),
    Style("sigmoid-tanh", "σ(z) = ½(1 + tanh(z/2))", {
        (LOGISTIC, "sigmoid"): """
            def sigmoid(z):
                return 0.5 * (1 + np.tanh(z / 2))
            """,
    }),
    Style("sigmoid-exp-ratio", "σ(z) = e^z / (1 + e^z), and predict with the formula inlined", {
        (LOGISTIC, "sigmoid"): """
            def sigmoid(z):
                return np.exp(z) / (1 + np.exp(z))
            """,
        (LOGISTIC, "predict"): """
            def predict(x, theta):
                return 1.0 / (1.0 + np.exp(-(x @ theta)))
            """,
    }),
    Style("clipped-log", "cross-entropy with ŷ clipped to [1e-15, 1 − 1e-15]", {
        (LOGISTIC, "loss"): """
            def loss(y_hat, y):
                y_hat = np.clip(y_hat, 1e-15, 1 - 1e-15)
                return -y * np.log(y_hat) - (1 - y) * np.log(1 - y_hat)
            """,
    }),
    Style("eps-log", "cross-entropy with an eps of 1e-9 inside the logs", {
        (LOGISTIC, "loss"): """
            EPS = 1e-9


            def loss(y_hat, y):
                return -(y * np.log(y_hat + EPS) + (1 - y) * np.log(1 - y_hat + EPS))
            """,
    }),
    Style("eps-log-1e-7", "cross-entropy with Keras' epsilon 1e-7 added inside the logs", {
        (LOGISTIC, "loss"): """
            def loss(y_hat, y, eps=1e-7):
                return -y * np.log(y_hat + eps) - (1 - y) * np.log(1 - y_hat + eps)
            """,
    }),
    Style("lists-not-tuples", "lists where the contract says tuples; losses as np.array", {
        (BASIC, "gradient"): """
            def gradient(x, y_hat, y):
                return [2 * x * (y_hat - y), 2 * (y_hat - y)]
            """,
        (BASIC, "update"): """
            def update(w, b, dw, db, lr):
                return [w - lr * dw, b - lr * db]
            """,
        (BASIC, "train"): """
            def train(xs, ys, w, b, lr, epochs):
                losses = []
                for _ in range(epochs):
                    for x, y in zip(xs, ys):
                        y_hat = predict(x, w, b)
                        losses.append(loss(y_hat, y))
                        dw, db = gradient(x, y_hat, y)
                        w, b = update(w, b, dw, db, lr)
                return [w, b, losses]
            """,
        (NUMPY, "train"): """
            def train(X, y, theta, lr, epochs):
                losses = np.zeros(epochs * len(X))
                k = 0
                for _ in range(epochs):
                    for i in range(len(X)):
                        y_hat = predict(X[i], theta)
                        losses[k] = loss(y_hat, y[i])
                        k += 1
                        theta = update(theta, gradient(X[i], y_hat, y[i]), lr)
                return [theta, losses]
            """,
        (LOGISTIC, "train"): """
            def train(X, y, theta, lr, epochs):
                losses = []
                for _ in range(epochs):
                    for x_i, y_i in zip(X, y):
                        y_hat = predict(x_i, theta)
                        losses.append(loss(y_hat, y_i))
                        theta = update(theta, gradient(x_i, y_hat, y_i), lr)
                return theta, np.array(losses)
            """,
    }),
    Style("classify-bool", "classify returns the comparison itself, a bool", {
        (LOGISTIC, "classify"): """
            def classify(y_hat, threshold=0.5):
                return y_hat >= threshold
            """,
    }),
    Style("classify-where", "classify returns np.where(ŷ ≥ threshold, 1, 0)", {
        (LOGISTIC, "classify"): """
            def classify(y_hat, threshold=0.5):
                return np.where(y_hat >= threshold, 1, 0)
            """,
    }),
    Style("train-inlined", "train writes every step inline instead of calling the helpers", {
        (BASIC, "train"): """
            def train(xs, ys, w, b, lr, epochs):
                losses = []
                for epoch in range(epochs):
                    for i in range(len(xs)):
                        y_hat = w * xs[i] + b
                        losses.append((y_hat - ys[i]) ** 2)
                        dw = 2 * xs[i] * (y_hat - ys[i])
                        db = 2 * (y_hat - ys[i])
                        w = w - lr * dw
                        b = b - lr * db
                return w, b, losses
            """,
        (NUMPY, "train"): """
            def train(X, y, theta, lr, epochs):
                theta = theta.copy()
                losses = []
                for epoch in range(epochs):
                    for x_i, y_i in zip(X, y):
                        error = x_i @ theta - y_i
                        losses.append(error ** 2)
                        theta = theta - lr * (2 * x_i * error)
                return theta, losses
            """,
        (LOGISTIC, "train"): """
            def train(X, y, theta, lr, epochs):
                losses = []
                for epoch in range(epochs):
                    for x_i, y_i in zip(X, y):
                        p = 1 / (1 + np.exp(-(x_i @ theta)))
                        losses.append(-y_i * np.log(p) - (1 - y_i) * np.log(1 - p))
                        theta = theta - lr * x_i * (p - y_i)
                return theta, losses
            """,
    }),
    Style("basic-product-and-math", "(a) * (a) instead of ** 2, the math module, keyword calls", {
        (BASIC, "predict"): """
            def predict(x, w, b):
                return b + x * w
            """,
        (BASIC, "loss"): """
            def loss(y_hat, y):
                diff = y_hat - y
                return (diff) * (diff)
            """,
        (BASIC, "gradient"): """
            import math


            def gradient(x, y_hat, y):
                error = math.fsum([y_hat, -y])
                return 2.0 * error * x, 2.0 * error
            """,
        (BASIC, "train"): """
            def train(xs, ys, w, b, lr, epochs):
                losses = []
                epoch = 0
                while epoch < epochs:
                    for x, y in zip(xs, ys):
                        y_hat = predict(x=x, w=w, b=b)
                        losses.append(loss(y_hat=y_hat, y=y))
                        dw, db = gradient(x=x, y_hat=y_hat, y=y)
                        w, b = update(w=w, b=b, dw=dw, db=db, lr=lr)
                    epoch += 1
                return w, b, losses
            """,
    }),
    Style("prints-left-in", "debug prints left in train and the helpers", {
        (NUMPY, "train"): """
            def train(X, y, theta, lr, epochs):
                losses = []
                for epoch in range(epochs):
                    for x_i, y_i in zip(X, y):
                        y_hat = predict(x_i, theta)
                        L = loss(y_hat, y_i)
                        losses.append(L)
                        print(f"epoch {epoch}: y_hat={y_hat:.3f} loss={L:.3f}")
                        theta = update(theta, gradient(x_i, y_hat, y_i), lr)
                print("final theta", theta)
                return theta, losses
            """,
        (LOGISTIC, "gradient"): """
            def gradient(x, y_hat, y):
                grad = (y_hat - y) * x
                print("grad:", grad)
                return grad
            """,
    }),
    Style("loss-branches-on-y", "cross-entropy as an if on y (y is 0 or 1), with math.log", {
        (LOGISTIC, "loss"): """
            import math


            def loss(y_hat, y):
                if y == 1:
                    return -math.log(y_hat)
                return -math.log(1 - y_hat)
            """,
    }),
    Style("sigmoid-clip-z", "σ with z clipped to [−500, 500] against overflow", {
        (LOGISTIC, "sigmoid"): """
            def sigmoid(z):
                z = np.clip(z, -500, 500)
                return 1.0 / (1.0 + np.exp(-z))
            """,
        (LOGISTIC, "predict"): """
            def predict(x, theta):
                return sigmoid(np.matmul(x, theta))
            """,
        (LOGISTIC, "classify"): """
            def classify(y_hat, threshold=0.5):
                return int(np.greater_equal(y_hat, threshold))
            """,
    }),
    Style("train-relies-on-in-place-update", "update changes θ in place and train never reassigns it", {
        (NUMPY, "update"): """
            def update(theta, grad, lr):
                theta -= lr * grad
                return theta
            """,
        (NUMPY, "train"): """
            def train(X, y, theta, lr, epochs):
                theta = np.array(theta, dtype=float)
                losses = []
                for _ in range(epochs):
                    for i in range(X.shape[0]):
                        y_hat = predict(X[i], theta)
                        losses.append(float(loss(y_hat, y[i])))
                        update(theta, gradient(X[i], y_hat, y[i]), lr)
                return theta, losses
            """,
        (LOGISTIC, "update"): """
            def update(theta, grad, lr):
                np.subtract(theta, lr * grad, out=theta)
                return theta
            """,
    }),
    Style("annotated-with-helpers", "type hints, __all__, private helpers and a __main__ demo", modules={
        NUMPY: """
            from __future__ import annotations

            import numpy as np
            from numpy.typing import NDArray

            __all__ = ["predict", "loss", "gradient", "update", "train"]


            def _error(y_hat: float, y: float) -> float:
                return y_hat - y


            def predict(x: NDArray[np.float64], theta: NDArray[np.float64]) -> float:
                return float(np.inner(x, theta))


            def loss(y_hat: float, y: float) -> float:
                return _error(y_hat, y) ** 2


            def gradient(x: NDArray[np.float64], y_hat: float, y: float) -> NDArray[np.float64]:
                return 2.0 * _error(y_hat, y) * np.asarray(x, dtype=float)


            def update(theta: NDArray[np.float64], grad: NDArray[np.float64], lr: float) -> NDArray[np.float64]:
                return np.asarray(theta, dtype=float) - lr * np.asarray(grad, dtype=float)


            def train(X, y, theta, lr: float, epochs: int) -> tuple[NDArray[np.float64], list[float]]:
                losses: list[float] = []
                for _epoch in range(epochs):
                    for x_i, y_i in zip(X, y):
                        y_hat = predict(x_i, theta)
                        losses.append(loss(y_hat, y_i))
                        theta = update(theta, gradient(x_i, y_hat, y_i), lr)
                return theta, losses


            if __name__ == "__main__":
                X = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
                print(train(X, np.array([8.0, 15.0, 18.0]), np.zeros(2), 0.01, 10))
            """,
    }),
    Style("top-level-demo", "demo code at the top level of the module, run at import", {
        (BASIC, "train"): """
            def train(xs, ys, w, b, lr, epochs):
                losses = []
                for _ in range(epochs):
                    for x, y in zip(xs, ys):
                        y_hat = predict(x, w, b)
                        losses.append(loss(y_hat, y))
                        dw, db = gradient(x, y_hat, y)
                        w, b = update(w, b, dw, db, lr)
                return w, b, losses


            print("slide 6:", predict(2.0, 2.0, 2.0), loss(6.0, 18.0), gradient(2.0, 6.0, 18.0))
            w, b, losses = train([0, 1, 2, 3, 4, 5, 6, 7], [8, 15, 18, 22, 26, 30, 38, 47], 0.0, 0.0, 0.01, 100)
            print(f"salary fit: y = {w:.2f}x + {b:.2f}, last loss {losses[-1]:.2f}")
            """,
    }),
    Style("basic-pow-and-enumerate", "pow(·, 2), enumerate over xs, a tuple of losses", {
        (BASIC, "loss"): """
            def loss(y_hat, y):
                return pow(y_hat - y, 2)
            """,
        (BASIC, "train"): """
            def train(xs, ys, w, b, lr, epochs):
                losses = []
                for epoch in range(epochs):
                    for i, x in enumerate(xs):
                        y_hat = predict(x, w, b)
                        losses.append(loss(y_hat, ys[i]))
                        dw, db = gradient(x, y_hat, ys[i])
                        w, b = update(w, b, dw, db, lr)
                return w, b, tuple(losses)
            """,
    }),
    Style("minimal", "the docstring-free minimal version of all three modules", modules={
        BASIC: """
            def predict(x, w, b):
                return w * x + b


            def loss(y_hat, y):
                return (y_hat - y) ** 2


            def gradient(x, y_hat, y):
                return 2 * x * (y_hat - y), 2 * (y_hat - y)


            def update(w, b, dw, db, lr):
                return w - lr * dw, b - lr * db


            def train(xs, ys, w, b, lr, epochs):
                losses = []
                for _ in range(epochs):
                    for x, y in zip(xs, ys):
                        p = predict(x, w, b)
                        losses.append(loss(p, y))
                        w, b = update(w, b, *gradient(x, p, y), lr)
                return w, b, losses
            """,
        NUMPY: """
            import numpy as np


            def predict(x, theta):
                return np.dot(x, theta)


            def loss(y_hat, y):
                return (y_hat - y) ** 2


            def gradient(x, y_hat, y):
                return 2 * (y_hat - y) * x


            def update(theta, grad, lr):
                return theta - lr * grad


            def train(X, y, theta, lr, epochs):
                losses = []
                for _ in range(epochs):
                    for i in range(len(y)):
                        p = predict(X[i], theta)
                        losses.append(loss(p, y[i]))
                        theta = update(theta, gradient(X[i], p, y[i]), lr)
                return theta, losses
            """,
        LOGISTIC: """
            import numpy as np


            def sigmoid(z):
                return 1 / (1 + np.exp(-z))


            def predict(x, theta):
                return sigmoid(np.dot(x, theta))


            def loss(y_hat, y):
                return -(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))


            def gradient(x, y_hat, y):
                return (y_hat - y) * x


            def update(theta, grad, lr):
                return theta - lr * grad


            def classify(y_hat, threshold=0.5):
                return 1 if y_hat >= threshold else 0


            def train(X, y, theta, lr, epochs):
                losses = []
                for _ in range(epochs):
                    for i in range(len(y)):
                        p = predict(X[i], theta)
                        losses.append(loss(p, y[i]))
                        theta = update(theta, gradient(X[i], p, y[i]), lr)
                return theta, losses
            """,
    }),
    Style("checkpoints-in-tmp", "train saves theta after every epoch with np.save in a "
          "tempfile.mkdtemp() folder (os.makedirs, np.load, shutil.rmtree): honest file work in "
          "the worker's tmp/", {
        (NUMPY, "train"): """
            import os, shutil, tempfile

            def train(X, y, theta, lr, epochs):
                folder = tempfile.mkdtemp(prefix="checkpoints-")
                try:
                    os.makedirs(os.path.join(folder, "epochs"), exist_ok=True)
                    losses = []
                    for epoch in range(epochs):
                        for x_i, y_i in zip(X, y):
                            y_hat = predict(x_i, theta)
                            losses.append(loss(y_hat, y_i))
                            theta = update(theta, gradient(x_i, y_hat, y_i), lr)
                        path = os.path.join(folder, "epochs", f"{epoch}.npy")
                        np.save(path, theta)
                        theta = np.load(path)
                    return theta, losses
                finally:
                    shutil.rmtree(folder)
            """,
    }),
    Style("log-in-tmp", "train writes a log of its losses to a NamedTemporaryFile and a "
          "TemporaryDirectory, renames and removes it, in plain Python", {
        (BASIC, "train"): """
            import os, tempfile

            def train(xs, ys, w, b, lr, epochs):
                losses = []
                with tempfile.TemporaryDirectory() as folder, \\
                        tempfile.NamedTemporaryFile("w+", suffix=".log") as log:
                    for _ in range(epochs):
                        for x, y in zip(xs, ys):
                            y_hat = predict(x, w, b)
                            losses.append(loss(y_hat, y))
                            log.write(f"{losses[-1]!r}\\n")
                            dw, db = gradient(x, y_hat, y)
                            w, b = update(w, b, dw, db, lr)
                    log.flush()
                    log.seek(0)
                    kept = os.path.join(folder, "losses.log")
                    with open(kept, "w") as f:
                        f.write(log.read())
                    os.rename(kept, kept + ".old")
                    os.remove(kept + ".old")
                return w, b, losses
            """,
    }),
]
