"""Time to spawn a worker that imports numpy and exits, per isolation layer; and the cost of
choosing a layer.

    python benchmarks/bench_isolation.py [--runs 20] [--probe-runs 7]

Runs each available layer with the default interpreter and, when it has numpy, with Debian's
/usr/bin/python3 (the uid layer usually needs it: see docs/isolation.md). Prints the median wall
time from spawn() to the worker's exit and the ratio to the process layer with the same
interpreter, then the median time of Worker.kill() on the exited worker (uid/bwrap: the sweep of
the worker's uid and the release of its id). Then, in fresh processes (as a CLI run pays it),
the time of sandbox.strongest() and of unavailable() for every layer.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder import sandbox  # noqa: E402

WORKER = "import numpy\n"
PROBE = """
import time
from autograder import sandbox
t0 = time.perf_counter(); sandbox.strongest(); t1 = time.perf_counter()
for name in sandbox.LAYERS:
    sandbox.unavailable(name)
print((t1 - t0) * 1e3, (time.perf_counter() - t0) * 1e3)
"""


def spawn_once(layer: str, stage) -> tuple[float, float]:
    t0 = time.perf_counter()
    worker = sandbox.spawn(layer, stage, [], sandbox.Limits(), subprocess.DEVNULL)
    worker.stdin.close()
    rc = worker.wait()
    elapsed = time.perf_counter() - t0
    t1 = time.perf_counter()
    worker.kill()
    killed = time.perf_counter() - t1
    if rc != 0:
        raise SystemExit(f"{layer}: worker exited {rc}")
    return elapsed, killed


def measure(layers: list[str], runs: int) -> dict[str, list[tuple[float, float]]]:
    """Round-robin over the layers so that load from elsewhere hits them alike."""
    with tempfile.TemporaryDirectory() as d:
        script = Path(d) / "w.py"
        script.write_text(WORKER)
        (Path(d) / "sub").mkdir()
        with sandbox.make_stage(script, Path(d) / "sub") as stage:
            for layer in layers:  # warm the page cache
                spawn_once(layer, stage)
            times: dict[str, list[tuple[float, float]]] = {layer: [] for layer in layers}
            for _ in range(runs):
                for layer in layers:
                    times[layer].append(spawn_once(layer, stage))
            return times


def probe_cost(runs: int) -> str:
    strongest, every = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True,
                             cwd=str(ROOT)).stdout.split()
        strongest.append(float(out[0]))
        every.append(float(out[1]))
    return (f"  choosing a layer, fresh process: strongest() median {statistics.median(strongest):.0f} ms "
            f"(min {min(strongest):.0f}), unavailable() of every layer {statistics.median(every):.0f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--probe-runs", type=int, default=7)
    args = ap.parse_args()
    pythons = [None]
    if subprocess.run(["/usr/bin/python3", "-I", "-c", "import numpy"], capture_output=True).returncode == 0:
        pythons.append("/usr/bin/python3")
    for py in pythons:
        if py:
            os.environ["GDKIT_WORKER_PYTHON"] = py
        else:
            os.environ.pop("GDKIT_WORKER_PYTHON", None)
        print(f"interpreter: {sandbox.worker_python()}")
        print(probe_cost(args.probe_runs))
        layers = []
        for layer in sandbox.LAYERS:
            reason = sandbox.unavailable(layer)
            if reason:
                print(f"  {layer:8s} unavailable: {reason}")
            else:
                layers.append(layer)
        times = measure(layers, args.runs)
        base = statistics.median(t for t, _ in times["process"]) if "process" in times else None
        for layer, pairs in times.items():
            ts = [t for t, _ in pairs]
            med = statistics.median(ts)
            ratio = f"{med / base:.2f}x" if base else "-"
            kill_med = statistics.median(k for _, k in pairs)
            print(f"  {layer:8s} median {med * 1000:6.1f} ms  min {min(ts) * 1000:6.1f} ms  {ratio} of process"
                  f"  kill {kill_med * 1000:5.1f} ms")


if __name__ == "__main__":
    main()
