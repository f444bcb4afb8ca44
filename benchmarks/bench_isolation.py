"""Time to spawn a worker that imports numpy and exits, per isolation layer.

    python benchmarks/bench_isolation.py [--runs 20]

Runs each available layer with the default interpreter and, when it has numpy,
with Debian's /usr/bin/python3 (the uid layer usually needs it: see
docs/isolation.md). Prints the median wall time from spawn() to the worker's
exit and the ratio to the process layer with the same interpreter, then the
median time of kill() on the exited worker (uid/bwrap: the sweep of the
worker's uid and the release of its id).
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograder import isolation as iso  # noqa: E402

WORKER = "import numpy\n"


def spawn_once(layer: str, stage: Path) -> tuple[float, float]:
    t0 = time.perf_counter()
    proc = iso.spawn(layer, stage, [], iso.Limits(), subprocess.DEVNULL)
    proc.stdin.close()
    rc = proc.wait()
    elapsed = time.perf_counter() - t0
    t1 = time.perf_counter()
    iso.kill(layer, proc)
    killed = time.perf_counter() - t1
    proc.stdout.close()
    if rc != 0:
        raise SystemExit(f"{layer}: worker exited {rc}")
    return elapsed, killed


def measure(layers: list[str], runs: int) -> dict[str, list[tuple[float, float]]]:
    """Round-robin over the layers so that load from elsewhere hits them alike."""
    with tempfile.TemporaryDirectory() as d:
        script = Path(d) / "w.py"
        script.write_text(WORKER)
        (Path(d) / "sub").mkdir()
        stage = iso.make_stage(script, Path(d) / "sub")
        try:
            for layer in layers:  # warm the page cache
                spawn_once(layer, stage)
            times: dict[str, list[tuple[float, float]]] = {layer: [] for layer in layers}
            for _ in range(runs):
                for layer in layers:
                    times[layer].append(spawn_once(layer, stage))
            return times
        finally:
            iso.remove_stage(stage)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    pythons = [None]
    if subprocess.run(["/usr/bin/python3", "-I", "-c", "import numpy"], capture_output=True).returncode == 0:
        pythons.append("/usr/bin/python3")
    for py in pythons:
        if py:
            os.environ["GDKIT_WORKER_PYTHON"] = py
        else:
            os.environ.pop("GDKIT_WORKER_PYTHON", None)
        print(f"interpreter: {iso.worker_python()}")
        layers = []
        for layer in iso.LAYERS:
            reason = iso.unavailable(layer)
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
