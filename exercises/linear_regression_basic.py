"""Linear regression y = w x + b, one sample at a time, in plain Python (slides 8-13).

This is the "traditional / basic Python" column of slide 8: every quantity is a
float, there is no NumPy. Slides 6-7 work one step by hand: w = 2, b = 2,
x = 2, y = 18, lr = 0.1 give y_hat = 6, L = 144, (dw, db) = (-48, -24) and the
new line w = 6.8, b = 4.4.

Style points: each function carries 1 point for style, which here means that
the module runs without NumPy (do not import it). The style point is earned
only once the function returns correct values.
"""


def predict(x, w, b):
    """Return the prediction y_hat = w * x + b (slide 8; worked on slide 6).

    Args:
        x: float, the input.
        w: float, the weight (slope of the line).
        b: float, the bias (intercept of the line).

    Returns:
        float, y_hat.

    Points: 4, of which 1 for style (no NumPy).
    """
    # YOUR CODE HERE
    raise NotImplementedError("predict: not implemented yet")


def loss(y_hat, y):
    """Return the squared error L = (y_hat - y)^2 (slide 8; worked on slide 6).

    Args:
        y_hat: float, the prediction.
        y: float, the target.

    Returns:
        float, L.

    Points: 4, of which 1 for style (no NumPy).
    """
    # YOUR CODE HERE
    raise NotImplementedError("loss: not implemented yet")


def gradient(x, y_hat, y):
    """Return the derivatives dL/dw = 2 x (y_hat - y), dL/db = 2 (y_hat - y) (slides 6 and 8).

    Args:
        x: float, the input.
        y_hat: float, the prediction for x.
        y: float, the target.

    Returns:
        tuple (dw, db) of floats, dw first.

    Points: 5, of which 1 for style (no NumPy).
    """
    # YOUR CODE HERE
    raise NotImplementedError("gradient: not implemented yet")


def update(w, b, dw, db, lr):
    """Take one gradient step w <- w - lr * dw, b <- b - lr * db (slide 8; worked on slide 7).

    Args:
        w: float, the weight.
        b: float, the bias.
        dw: float, dL/dw.
        db: float, dL/db.
        lr: float, the learning rate (eta).

    Returns:
        tuple (w, b) of floats, the new parameters.

    Points: 4, of which 1 for style (no NumPy).
    """
    # YOUR CODE HERE
    raise NotImplementedError("update: not implemented yet")


def train(xs, ys, w, b, lr, epochs):
    """Fit w and b by one-sample gradient descent: the five steps of slide 8.

    For every epoch, for every sample (x, y) in data order (step 1): predict
    y_hat (step 2), record the loss before the update (step 3), compute the
    gradient (step 4) and update w and b (step 5), with this module's own
    predict, loss, gradient and update.

    Args:
        xs: list of n floats, the inputs.
        ys: list of n floats, the targets.
        w: float, the initial weight.
        b: float, the initial bias.
        lr: float, the learning rate (eta).
        epochs: int, the number of passes over the data.

    Returns:
        tuple (w, b, losses): the final w and b (floats) and the list of the
        epochs * n losses, in the order they were computed.

    Points: 8, of which 1 for style (no NumPy).
    """
    # YOUR CODE HERE
    raise NotImplementedError("train: not implemented yet")
