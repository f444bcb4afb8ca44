"""A student's cold `pytest` in the student release, against a cold `python -c "import numpy,
pytest"`, side by side in one run.

    python benchmarks/bench_student.py [--runs 10] [--venv DIR]

Builds the release (`gdkit release student`) into a temporary folder, makes a fresh virtual
environment for it (pip lent by the running one) and runs the release's own install command
(`python -m pip install -e .`), unless --venv names one where the release is installed already.
Then each round runs, in a fresh process each and with that environment: the baseline, plain
`pytest` on the stubs (a student's first run) and plain `pytest` on the solutions (a finished
homework). Rounds alternate, so that load from elsewhere hits all alike. Prints every run, the
medians and the ratios to the baseline.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def venv_for(release: Path, base: Path) -> Path:
    import pip

    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    lent = base / "lent"
    lent.mkdir()
    (lent / "pip").symlink_to(Path(pip.__file__).resolve().parent)
    purelib = subprocess.run([venv / "bin" / "python", "-c",
                              "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "lent_pip.pth").write_text(f"{lent}\n")
    subprocess.run([venv / "bin" / "python", "-m", "pip", "install", "-q", "-e", "."], cwd=release,
                   check=True)
    return venv


def timed(cmd, cwd, env) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--venv", help="a virtual environment where the release is installed already")
    args = p.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from autograder.release import student

    base = Path(tempfile.mkdtemp(prefix="gdkit-bench-student-"))
    try:
        stubs_repo, solved_repo = base / "stubs", base / "solved"
        student.build(stubs_repo)
        venv = Path(args.venv) if args.venv else venv_for(stubs_repo, base)
        shutil.copytree(stubs_repo, solved_repo)
        for module in (ROOT / "solutions").glob("*.py"):
            shutil.copyfile(module, solved_repo / "exercises" / module.name)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PYTEST", "GDKIT"))}
        env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}", VIRTUAL_ENV=str(venv))
        python, pytest = str(venv / "bin" / "python"), str(venv / "bin" / "pytest")
        commands = {  # name -> (argv, cwd)
            "python -c 'import numpy, pytest'": ([python, "-c", "import numpy, pytest"], stubs_repo),
            "pytest (the stubs: a first run)": ([pytest, "-p", "no:cacheprovider"], stubs_repo),
            "pytest (the solutions: 100/100)": ([pytest, "-p", "no:cacheprovider"], solved_repo),
        }
        # the release's own tree: each pytest grades through its editable install of gdkit/
        for cmd, cwd in commands.values():   # one warm-up each: the page cache, not the interpreter
            timed(cmd, cwd, env)
        times = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, (cmd, cwd) in commands.items():
                times[name].append(timed(cmd, cwd, env))
        base_median = statistics.median(next(iter(times.values())))
        print(f"cold runs in the student release, median of {args.runs}, {os.cpu_count()} cores, "
              f"load {os.getloadavg()[0]:.1f}")
        for name, values in times.items():
            median = statistics.median(values)
            print(f"  {name:<36} {median:6.3f} s  {median / base_median:5.2f}×   "
                  f"runs: {' '.join(f'{v:.2f}' for v in values)}")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
