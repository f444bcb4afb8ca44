"""The gradients the grader imports (autograder/lecture/gradients.py) are sympy's, derived afresh."""
from __future__ import annotations

import numpy as np

from autograder.lecture import derive, gradients, oracles


def test_generated_gradients_are_what_sympy_derives_now():
    assert derive.TARGET.read_text(encoding="utf-8") == derive.source(), (
        "autograder/lecture/gradients.py is stale: run python -m autograder.lecture.derive")


def test_derived_formulas_are_the_lectures():
    assert gradients.DLOSS_DZ["linear"][0] == "-2*y + 2*y_hat"      # 2(ŷ − y), slide 8
    assert gradients.DLOSS_DZ["logistic"][0] == "-y + y_hat"        # ŷ − y, slide 29


def test_the_full_gradient_is_the_chain_rule_at_random_points():
    rng = np.random.default_rng(0)
    for model in derive.MODELS:
        for n in derive.SIZES:
            theta, x, y = rng.normal(size=n), np.r_[1.0, rng.normal(size=n - 1)], float(rng.integers(0, 2))
            y_hat = oracles.predict(model, theta, x)
            assert np.allclose(oracles.full_gradient(model, theta, x, y),
                               oracles.gradient(model, x, y_hat, y), rtol=1e-12, atol=1e-12)


def test_grading_does_not_import_sympy():
    import subprocess
    import sys

    code = ("import sys; from autograder.checks import all_checks; from autograder.lecture import "
            "oracles; all_checks(); oracles.gradient('logistic', [1.0, 2.0], 0.3, 1.0); "
            "print('sympy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
