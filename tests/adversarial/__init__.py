"""The adversarial corpus: submissions that try to forge their score, and the tools that grade them.

`attacks.py` holds the corpus as data, `harness.py` builds each attack (and its honest twin) into a
submission folder and grades it through the command line in a subprocess.
"""
