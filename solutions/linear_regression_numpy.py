"""Linear regression y = theta^T x, one sample at a time, vectorized with NumPy (slides 8, 14-18).

This is the "vectorized / NumPy" column of slide 8. The bias joins the weights:
theta = [b, w1, ...] and every input gets a leading 1, x = [1, x1, ...], so that
y_hat = theta^T x = w1 x1 + ... + b. Slides 6-7 work one step by hand:
theta = [2, 2], x = [1, 2], y = 18, lr = 0.1 give y_hat = 6, L = 144,
grad = [-24, -48] and the new theta = [4.4, 6.8].

Style points: predict, loss, gradient and update each carry 1 point for style,
which here means no Python loop: write the slide's vector formula (x @ theta,
2 * x * (y_hat - y), theta - lr * grad), not a loop over the components. The
style point is earned only once the function returns correct values.
"""

import numpy as np


def predict(x, theta):
    """Return the prediction y_hat = theta^T x (slide 8; worked on slide 6).

    Args:
        x: 1-D float array [1, x1, ...] of shape (d + 1,), leading 1 for the bias.
        theta: 1-D float array [b, w1, ...] of the same shape.

    Returns:
        float, y_hat.

    Points: 5, of which 1 for style (no Python loop).
    """
    ### BEGIN SOLUTION
    return x @ theta
    ### END SOLUTION


def loss(y_hat, y):
    """Return the squared error L = (y_hat - y)^2 (slide 8; worked on slide 6).

    Args:
        y_hat: float, the prediction.
        y: float, the target.

    Returns:
        float, L.

    Points: 4, of which 1 for style (no Python loop).
    """
    ### BEGIN SOLUTION
    return (y_hat - y) ** 2
    ### END SOLUTION


def gradient(x, y_hat, y):
    """Return the gradient grad = 2 x (y_hat - y) of L with respect to theta (slides 6 and 8).

    Args:
        x: 1-D float array [1, x1, ...] of shape (d + 1,).
        y_hat: float, the prediction for x.
        y: float, the target.

    Returns:
        1-D float array of the same shape as x: [dL/db, dL/dw1, ...].

    Points: 6, of which 1 for style (no Python loop).
    """
    ### BEGIN SOLUTION
    return 2 * x * (y_hat - y)
    ### END SOLUTION


def update(theta, grad, lr):
    """Take one gradient step theta <- theta - lr * grad (slide 8; worked on slide 7).

    Args:
        theta: 1-D float array [b, w1, ...] of shape (d + 1,).
        grad: 1-D float array of the same shape, the gradient of L.
        lr: float, the learning rate (eta).

    Returns:
        1-D float array, the new theta (a new array; the argument is not modified).

    Points: 5, of which 1 for style (no Python loop).
    """
    ### BEGIN SOLUTION
    return theta - lr * grad
    ### END SOLUTION


def train(X, y, theta, lr, epochs):
    """Fit theta by one-sample gradient descent: the five steps of slide 8.

    For every epoch, for every row x of X in data order (step 1): predict
    y_hat (step 2), record the loss before the update (step 3), compute the
    gradient (step 4) and update theta (step 5), with this module's own
    predict, loss, gradient and update.

    Args:
        X: 2-D float array of shape (n, d + 1); each row is x = [1, x1, ...]
            (the bias column is included).
        y: 1-D float array of shape (n,), the targets.
        theta: 1-D float array [b, w1, ...] of shape (d + 1,), the initial theta.
        lr: float, the learning rate (eta).
        epochs: int, the number of passes over the data.

    Returns:
        tuple (theta, losses): the final theta (1-D float array) and the list
        of the epochs * n losses, in the order they were computed.

    Points: 10.
    """
    ### BEGIN SOLUTION
    losses = []
    for _ in range(epochs):
        for x_i, y_i in zip(X, y):
            y_hat = predict(x_i, theta)
            losses.append(loss(y_hat, y_i))
            grad = gradient(x_i, y_hat, y_i)
            theta = update(theta, grad, lr)
    return theta, losses
    ### END SOLUTION
