"""The cost of isolation on a whole grade: solutions/ under each layer, side by side in one run.

    python benchmarks/bench_grading.py [--runs 10] [--submission solutions]

Grades the submission round-robin under every available layer (so that load from elsewhere hits
them alike), after one warm-up grade that fills the page cache. Prints the median
wall time per grade and its ratio to the plain-process layer. The issue's target: bwrap at most
1.3× the process layer.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder import sandbox  # noqa: E402
from autograder.engine.grader import grade  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--submission", default=str(ROOT / "solutions"))
    args = p.parse_args(argv)
    layers = [layer for layer in sandbox.LAYERS if sandbox.unavailable(layer) is None]
    skipped = {layer: sandbox.unavailable(layer) for layer in sandbox.LAYERS if layer not in layers}
    grade(args.submission, seed=0, layer="process")  # warm-up: the page cache
    times = {layer: [] for layer in layers}
    for run in range(args.runs):
        for layer in layers:
            t0 = time.perf_counter()
            report = grade(args.submission, seed=run, layer=layer)
            times[layer].append(time.perf_counter() - t0)
            if report.faults:
                raise SystemExit(f"{layer}: grader faults {report.faults}")
    base = statistics.median(times["process"])
    print(f"grading {args.submission}, {args.runs} runs per layer, round-robin")
    print(f"{'layer':<8} {'median s':>9} {'min s':>7} {'ratio':>6}")
    for layer in layers:
        med = statistics.median(times[layer])
        print(f"{layer:<8} {med:9.3f} {min(times[layer]):7.3f} {med / base:5.2f}×")
    for layer, why in skipped.items():
        print(f"{layer:<8} unavailable: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
