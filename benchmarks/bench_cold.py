"""A cold grade against a cold `python -c "import numpy, pytest"`, side by side in one run.

    python benchmarks/bench_cold.py [--runs 10] [--layer auto]

Each round runs, in a fresh process each: the baseline (Python starting and importing NumPy and
pytest, what every student's `pytest` pays anyway), `gdkit grade solutions`, and `pytest --gdkit
solutions` (what a student feels). Rounds alternate, so that load from elsewhere hits all alike.
Prints the medians, and the median of each round's own ratio to that round's baseline (robust to
the machine's drift). The target: a cold grade in at most 2× the baseline.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(cmd, cwd) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--layer", default="auto")
    args = p.parse_args(argv)
    gdkit = shutil.which("gdkit") or str(Path(sys.executable).with_name("gdkit"))
    commands = {
        "python -c 'import numpy, pytest'": [sys.executable, "-c", "import numpy, pytest"],
        f"gdkit grade solutions --isolation {args.layer}":
            [gdkit, "grade", "solutions", "--seed", "0", "--isolation", args.layer],
        f"pytest --gdkit solutions --gdkit-isolation {args.layer}":
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--gdkit", "solutions",
             "--gdkit-seed", "0", "--gdkit-isolation", args.layer],
    }
    times = {name: [] for name in commands}
    for cmd in commands.values():   # one warm-up each: the page cache, not the interpreter
        timed(cmd, ROOT)
    for _ in range(args.runs):
        for name, cmd in commands.items():
            times[name].append(timed(cmd, ROOT))
    base = next(iter(times.values()))
    print(f"cold runs, median of {args.runs}, {os.cpu_count()} cores; ratio = median of the "
          "rounds' own ratios")
    for name, values in times.items():
        ratio = statistics.median(v / b for v, b in zip(values, base))
        print(f"  {name:<58} {statistics.median(values):6.3f} s  {ratio:5.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
