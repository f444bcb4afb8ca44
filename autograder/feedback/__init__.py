"""What the student reads beyond pass or fail: why a call failed (calls.py), which known mistake
an answer matches (diagnose.py), and which steps a failing train rests on (steps.py)."""
