"""gdkit grade-batch on a generated class: submissions per second, latency per submission and the
memory peak, at 50 and at 200 submissions; where nbgrader is installed, `nbgrader autograde` on
the same class as notebooks, timed in the same run, and the ratio.

    python benchmarks/bench_batch.py [--sizes 50,200] [--jobs N] [--nbgrader-students N]

The class: 80% correct (solutions/), 17% common mistakes (tests/corpus/mistakes.py, in turn),
3% an endless loop in one function. Latency is the time from a child's fork to its record (read
from the per-submission lines of the batch's log). The memory peak is the largest sum of the
resident set sizes of the batch's process tree (parent, children, workers), sampled every 50 ms.

nbgrader: `gdkit release nbgrader`, `nbgrader generate_assignment`, then the same class (by
default the largest of --sizes: the same students, mistakes and endless loops) as submitted/
notebooks, graded by `nbgrader autograde` and by `gdkit grade-batch` on that same submitted/
tree, one after the other in this run. nbgrader runs a kernel per notebook, three per student,
so a class of 200 takes it about half an hour; --nbgrader-students 20 gives a quicker ratio.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from corpus.build import build  # noqa: E402
from corpus.mistakes import MISTAKES  # noqa: E402

HANG = ("linear_regression_numpy", "predict", "def predict(x, theta):\n    while True:\n        pass\n")


def kind_of(i: int):
    """What submission i of a generated class is: None (the solutions), a corpus mistake, or
    HANG; 80% / 17% / 3%."""
    if i % 33 == 7:
        return HANG
    if i % 6 == 3:
        m = MISTAKES[(i // 6) % len(MISTAKES)]
        return m.module, m.function, m.code
    return None


def make_class(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(n):
        kind = kind_of(i)
        build(folder / f"s{i:04d}", functions={(kind[0], kind[1]): kind[2]} if kind else None)
    return folder


def wrong_rows(out: Path) -> list[str]:
    """The gradebook checked against the class: the solutions at 100, and each mistake (or endless
    loop) losing points in its own function, maybe in the functions of its module that call it
    (the corpus's `cascade`; train, for a hang), and nowhere else. One line per wrong row."""
    doc = json.loads((out / "gradebook.json").read_text())
    full, wrong = doc["max_points"], []
    for row in doc["submissions"]:
        kind = kind_of(int(row["name"].lstrip("s")))
        got = row["functions"]
        if kind is None:
            lost = {k for k in full if got.get(k) != full[k]}
            if lost or row["total"] != 100:
                wrong.append(f"{row['name']} (solutions): {row['total']}, lost in {sorted(lost)}")
            continue
        module, function = kind[0], kind[1]
        mistake = next((m for m in MISTAKES if (m.module, m.function, m.code) == kind), None)
        may = {f"{module}.{function}", f"{module}.train"} | {
            f"{module}.{c}" for c in (mistake.cascade if mistake else ())}
        lost = {k for k in full if got.get(k) != full[k]}
        if f"{module}.{function}" not in lost or lost - may:
            wrong.append(f"{row['name']} ({module}.{function}): lost in {sorted(lost)}")
    return wrong


def tree_rss(pid: int) -> int:
    """Resident bytes of `pid` and all its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(rest[1]), []).append(int(entry))
            rss[int(entry)] = int(rest[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += children.get(p, [])
    return total


def run_batch(klass: Path, out: Path, jobs: int, extra=()) -> dict:
    cmd = [sys.executable, "-P", "-m", "autograder", "grade-batch", str(klass), "--output-dir",
           str(out), "--jobs", str(jobs), "--seed", "1", *extra]
    env = {**os.environ, "NO_COLOR": "1"}
    t0 = time.monotonic()
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, env=env)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(0.05)
        seconds = time.monotonic() - t0
        log.seek(0)
        text = log.read()
    if proc.returncode != 0:
        raise SystemExit(f"grade-batch failed ({proc.returncode}):\n{text[-2000:]}")
    latencies = [float(x) for x in re.findall(r" in ([0-9.]+) s; graded", text)]
    rows = json.loads((out / "gradebook.json").read_text())["submissions"]
    return {"n": len(rows), "seconds": seconds, "per_second": len(rows) / seconds,
            "latency_mean": sum(latencies) / len(latencies), "latency_max": max(latencies),
            "latency_median": sorted(latencies)[len(latencies) // 2],
            "peak_mib": peak / 2**20, "graded": sum(r["status"] == "graded" for r in rows),
            "hundreds": sum(r["total"] == 100 for r in rows)}


def check(out: Path) -> str:
    wrong = wrong_rows(out)
    return "gradebook correct" if not wrong else (
        f"GRADEBOOK WRONG in {len(wrong)} rows: " + "; ".join(wrong[:5]))


def nbgrader_class(work: Path, students) -> Path:
    """The same class as make_class(students), as an nbgrader course: `gdkit release nbgrader`,
    `nbgrader generate_assignment`, and in submitted/ the released notebooks with the solution
    cell of the mistaken (or endless) function replaced, for the same students."""
    import textwrap

    course = work / "course"
    subprocess.run([sys.executable, "-P", "-m", "autograder", "release", "nbgrader", str(course)],
                   check=True, capture_output=True)
    subprocess.run(["nbgrader", "generate_assignment", "gd_regression", "--force"], cwd=course,
                   check=True, capture_output=True)
    source = course / "source" / "gd_regression"
    for i in (range(students) if isinstance(students, int) else students):
        dest = course / "submitted" / f"s{i:04d}" / "gd_regression"
        shutil.copytree(source, dest)
        (dest / "timestamp.txt").write_text("2024-01-01 00:00:00.000000 UTC")
        kind = kind_of(i)
        if kind is None:
            continue
        module, function, code = kind
        path = dest / f"{module}.ipynb"
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["metadata"].get("nbgrader", {}).get("grade_id") == f"{module}-{function}-solution":
                cell["source"] = textwrap.dedent(code).strip("\n") + "\n"
        path.write_text(json.dumps(nb))
    return course


def agreement(course: Path, out: Path) -> str:
    """How many students nbgrader's own gradebook (its test cells run gdkit's checks in the
    notebook's kernel) gives the total grade-batch gives."""
    from nbgrader.api import Gradebook

    ours = {row["name"]: row["total"] for row in
            json.loads((out / "gradebook.json").read_text())["submissions"]}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        theirs = {s.student.id: s.score for s in gb.assignment_submissions("gd_regression")}
    differ = [f"{name}: {theirs.get(name)} against {total}" for name, total in sorted(ours.items())
              if abs(theirs.get(name, -1) - total) >= 0.006]
    return (f"nbgrader's totals agree for {len(ours) - len(differ)} of {len(ours)}"
            + (f" (differ: {'; '.join(differ[:5])})" if differ else ""))


def baseline(runs: int = 7) -> float:
    """The median wall time of `python -c "import numpy, pytest"`: the issue's unit of cost."""
    times = []
    for _ in range(runs):
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-c", "import numpy, pytest"], check=True)
        times.append(time.monotonic() - t0)
    return sorted(times)[len(times) // 2]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="50,200")
    ap.add_argument("--jobs", type=int, default=2 * (os.cpu_count() or 1),
                    help="grade-batch's --jobs (default: its own default)")
    ap.add_argument("--nbgrader-students", type=int, default=None,
                    help="the class nbgrader grades (default: the largest of --sizes; 0: skip)")
    args = ap.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="gdkit-bench-batch-"))
    print(f"gdkit grade-batch, --jobs {args.jobs}, {os.cpu_count()} CPUs, "
          f"isolation: {subprocess.run([sys.executable, '-c', 'from autograder import sandbox; print(sandbox.strongest())'], capture_output=True, text=True).stdout.strip()}")
    try:
        for n in sizes:
            klass = make_class(work / f"class{n}", n)
            r = run_batch(klass, work / f"out{n}", args.jobs)
            print(f"{n:>4} submissions: {r['seconds']:.1f} s, {r['per_second']:.2f} submissions/s, "
                  f"latency mean {r['latency_mean']:.2f} s (median {r['latency_median']:.2f}, max "
                  f"{r['latency_max']:.2f}), memory peak {r['peak_mib']:.0f} MiB; "
                  f"{r['hundreds']} at 100/100, {r['graded']} graded; {check(work / f'out{n}')}",
                  flush=True)
            unit = baseline()
            print(f"      per submission {r['seconds'] / r['n'] * 1000:.0f} ms of wall time = "
                  f"{r['seconds'] / r['n'] / unit:.2f}x one python -c \"import numpy, pytest\" "
                  f"({unit * 1000:.0f} ms, measured right after)", flush=True)
        students = max(sizes) if args.nbgrader_students is None else args.nbgrader_students
        if shutil.which("nbgrader") and students:
            course = nbgrader_class(work / "nb", students)
            t0 = time.monotonic()
            p = subprocess.run(["nbgrader", "autograde", "gd_regression"], cwd=course,
                               capture_output=True, text=True)
            nb_seconds = time.monotonic() - t0
            if p.returncode != 0:
                print(f"nbgrader autograde failed: {p.stderr[-1500:]}")
                return 1
            r = run_batch(course / "submitted", work / "outnb", args.jobs)
            print(f"nbgrader autograde, the class of {students} (3 notebooks each): "
                  f"{nb_seconds:.1f} s ({students / nb_seconds:.2f} submissions/s); "
                  f"grade-batch on the same submitted/: {r['seconds']:.1f} s "
                  f"({r['per_second']:.2f} submissions/s, {r['hundreds']} at 100/100; "
                  f"{check(work / 'outnb')}; {agreement(course, work / 'outnb')}); "
                  f"throughput ratio {nb_seconds / r['seconds']:.1f}x", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
