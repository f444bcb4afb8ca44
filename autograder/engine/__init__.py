"""Grading one submission: policy.py (timeout, budget, layer), workers.py (the sandboxed worker
processes), budget.py (time shared fairly among functions), grader.py (checks → Report).

Nothing here is imported eagerly: a driver can launch the workers (stdlib only) before it pays
for NumPy and the checks."""
