"""Where one graded submission's time goes, in a warm grader (as in a batch child): the workers'
start, the round trips, the checks' own work, side by side in one run.

    python benchmarks/bench_parts.py [--layer auto] [--runs 8]

- worker start: from spawn to its hello, wall and the worker's own CPU (from /proc), with NumPy
  and without (the second, NumPy-less worker);
- round trip: one call of the basic module's predict, wall, and the grader's CPU per call;
- a grade of solutions/: wall in all, of which waiting for the first worker's hello, and in the
  other round trips; what is left is the checks' own work on the grader's side.
Medians of --runs.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def worker_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layer", default="auto")
    ap.add_argument("--runs", type=int, default=8)
    args = ap.parse_args()

    import numpy  # noqa: F401 - warm, as a batch's parent is

    from autograder import lecture, sandbox
    from autograder.checks import all_checks
    from autograder.engine import session as sessions
    from autograder.engine.grader import grade
    from autograder.engine.policy import Policy
    from autograder.engine.workers import Workers

    all_checks()
    lecture.rubric()
    layer = sandbox.strongest() if args.layer == "auto" else args.layer
    submission = ROOT / "solutions"
    print(f"layer {layer}, {os.cpu_count()} CPUs, medians of {args.runs} runs")

    for block in (False, True):
        wall, cpu = [], []
        for _ in range(args.runs):
            s = sessions.Session(submission, layer=layer, block_numpy=block)
            t = time.perf_counter()
            s._start()
            wall.append(time.perf_counter() - t)
            if layer == "process":   # elsewhere the worker is a grandchild in a namespace
                cpu.append(worker_cpu(s.proc.pid))
            s.close()
        extra = f", worker CPU {statistics.median(cpu) * 1000:.0f} ms" if cpu else ""
        print(f"worker start {'without' if block else 'with'} NumPy: "
              f"{statistics.median(wall) * 1000:.1f} ms{extra}")

    s = sessions.Session(submission, layer=layer)
    s.call("linear_regression_basic", "predict", 1.0, 2.0, 3.0)
    n = 200 * args.runs
    c0, t = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for _ in range(n):
        s.call("linear_regression_basic", "predict", 1.0, 2.0, 3.0)
    wall = (time.perf_counter() - t) / n
    c1 = resource.getrusage(resource.RUSAGE_SELF)
    s.close()
    print(f"round trip: {wall * 1e3:.3f} ms, grader CPU "
          f"{(c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime) / n * 1e3:.3f} ms per call")

    spent = {"first": 0.0, "calls": 0.0, "n": 0}
    exchange = sessions.Session._exchange

    def timed(self, request, buffers=(), key=None):
        first = self.key is None
        t = time.perf_counter()
        try:
            return exchange(self, request, buffers, key)
        finally:
            spent["first" if first else "calls"] += time.perf_counter() - t
            spent["n"] += not first

    sessions.Session._exchange = timed
    policy = Policy(layer=layer)
    rows = []
    for _ in range(args.runs + 1):
        spent.update(first=0.0, calls=0.0, n=0)
        t = time.perf_counter()
        workers = Workers(submission, policy)
        try:
            report = grade(submission, seed=1, policy=policy, workers=workers)
        finally:
            workers.close()
        total = time.perf_counter() - t
        assert report.score == 100, report.score
        rows.append((total, spent["first"], spent["calls"], spent["n"]))
    rows = rows[1:]   # the first one warms what is left to warm
    total, first, calls, count = (statistics.median(r[i] for r in rows) for i in range(4))
    print(f"grade of solutions/: {total * 1000:.0f} ms: waiting for the workers' start "
          f"{first * 1000:.0f} ms, {count:.0f} other round trips {calls * 1000:.0f} ms, the "
          f"rest (checks, oracles, stage, report) {(total - first - calls) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
