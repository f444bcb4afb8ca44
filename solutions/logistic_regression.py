"""Logistic regression y_hat = sigmoid(theta^T x), one sample at a time, with NumPy (slides 24-49).

theta = [b, w1, ...] and every input gets a leading 1, x = [1, x1, ...]; one
feature (Data #1, slides 26-36) or more (Data #2, slides 37-49). Slides 26-30
work one step by hand: theta = [0.1, 0.1], x = [1, 0.5], y = 0, lr = 0.1 give
z = 0.15, y_hat = 0.54, L = 0.771, grad = [0.54, 0.27], theta = [0.046, 0.073].

Style points: none in this module; each function's points ride on its values.
"""

import numpy as np


def sigmoid(z):
    """Return sigma(z) = 1 / (1 + e^(-z)) (slides 24-25).

    Args:
        z: float or float array, z = theta^T x.

    Returns:
        float in (0, 1) for a scalar z; for an array, an array of the same
        shape, elementwise.

    Points: 6.
    """
    ### BEGIN SOLUTION
    return 1 / (1 + np.exp(-z))
    ### END SOLUTION


def predict(x, theta):
    """Return the prediction y_hat = sigma(theta^T x) (slides 27 and 40).

    Args:
        x: 1-D float array [1, x1, ...] of shape (d + 1,), leading 1 for the bias.
        theta: 1-D float array [b, w1, ...] of the same shape.

    Returns:
        float in (0, 1), y_hat, the probability that y = 1.

    Points: 5.
    """
    ### BEGIN SOLUTION
    return sigmoid(x @ theta)
    ### END SOLUTION


def loss(y_hat, y):
    """Return the binary cross-entropy of y_hat against y (slides 28 and 42).

    L = -y log(y_hat) - (1 - y) log(1 - y_hat), with the natural log.

    Args:
        y_hat: float in (0, 1), the prediction.
        y: float, the target, 0 or 1.

    Returns:
        float, L.

    Points: 7.
    """
    ### BEGIN SOLUTION
    return -y * np.log(y_hat) - (1 - y) * np.log(1 - y_hat)
    ### END SOLUTION


def gradient(x, y_hat, y):
    """Return the gradient grad = x (y_hat - y) of L with respect to theta (slides 29 and 44).

    Args:
        x: 1-D float array [1, x1, ...] of shape (d + 1,).
        y_hat: float, the prediction for x.
        y: float, the target, 0 or 1.

    Returns:
        1-D float array of the same shape as x: [dL/db, dL/dw1, ...].

    Points: 7.
    """
    ### BEGIN SOLUTION
    return x * (y_hat - y)
    ### END SOLUTION


def update(theta, grad, lr):
    """Take one gradient step theta <- theta - lr * grad (slides 30 and 46).

    Args:
        theta: 1-D float array [b, w1, ...] of shape (d + 1,).
        grad: 1-D float array of the same shape, the gradient of L.
        lr: float, the learning rate (eta).

    Returns:
        1-D float array, the new theta (a new array; the argument is not modified).

    Points: 5.
    """
    ### BEGIN SOLUTION
    return theta - lr * grad
    ### END SOLUTION


def classify(y_hat, threshold=0.5):
    """Return the class: 1 when y_hat >= threshold, else 0 (slides 36, 49: threshold = 0.5).

    Args:
        y_hat: float in (0, 1), the prediction.
        threshold: float, 0.5 unless told otherwise.

    Returns:
        int, 0 or 1 (a Python int).

    Points: 5.
    """
    ### BEGIN SOLUTION
    return int(y_hat >= threshold)
    ### END SOLUTION


def train(X, y, theta, lr, epochs):
    """Fit theta by one-sample gradient descent: the five steps of slides 26 and 51.

    For every epoch, for every row x of X in data order (step 1): predict
    y_hat (step 2), record the loss before the update (step 3), compute the
    gradient (step 4) and update theta (step 5), with this module's own
    predict, loss, gradient and update. Slides 26-33 work the first two
    samples of Data #1 by hand.

    Args:
        X: 2-D float array of shape (n, d + 1); each row is x = [1, x1, ...]
            (the bias column is included).
        y: 1-D float array of shape (n,), the targets, 0 or 1.
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
