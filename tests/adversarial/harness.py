"""Build attack submissions and grade them through the command line, in a subprocess.

A submission is a copy of `solutions/` with one function replaced (the attack's or its twin's code)
and, for the attack only, top-level code appended to the module and extra files added. Placeholders
in the code (`@@NAME@@`) are replaced with Python literals before the file is written:

    @@REPO@@     the grader's repository (absolute)      @@OUT@@     the report's path (--output)
    @@OUTDIR@@   the folder the report is written to     @@PORT@@    a local TCP port that listens
    @@TOKEN@@    a marker unique to this run, for finding processes the attack left behind
    @@FORGED@@   the text of a forged report (a perfect score, with FORGED in it)

Grading runs `python -m autograder grade DIR --format F --output OUT --seed 1 --isolation LAYER`
in its own session (an attack that kills its parent's process group must not reach pytest), with
the repository as working directory, so that an attack walking up from the grader's cwd would
find solutions/.
"""
from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = REPO / "solutions"
DEBIAN_PYTHON = "/usr/bin/python3"

FORGED_REPORT = json.dumps({
    "score": 100.0, "output": "FORGED report: TOTAL 100/100", "tests": [
        {"name": "FORGED", "score": 100.0, "max_score": 100.0, "status": "passed"}]})


# --------------------------------------------------------------------------- layers

_debian_numpy = None


def _debian_python_has_numpy() -> bool:
    global _debian_numpy
    if _debian_numpy is None:
        try:
            _debian_numpy = subprocess.run([DEBIAN_PYTHON, "-I", "-c", "import numpy"],
                                           capture_output=True, timeout=60).returncode == 0
        except (OSError, subprocess.SubprocessError):
            _debian_numpy = False
    return _debian_numpy


def layer_env(layer: str) -> tuple[dict | None, str | None]:
    """(extra environment for the CLI, None) when `layer` works here, else (None, why not).

    The uid layer cannot run a Python under /root (mode 0700); like tests/test_isolation.py, it
    falls back to Debian's /usr/bin/python3 when that one has NumPy."""
    from autograder import sandbox

    if os.environ.get("GDKIT_WORKER_PYTHON"):
        reason = sandbox.unavailable(layer)
        return ({}, None) if reason is None else (None, reason)
    reason = sandbox.unavailable(layer)
    if reason is None:
        return {}, None
    if layer == "uid" and _debian_python_has_numpy():
        saved = os.environ.get("GDKIT_WORKER_PYTHON")
        os.environ["GDKIT_WORKER_PYTHON"] = DEBIAN_PYTHON
        try:
            again = sandbox.unavailable(layer)
        finally:
            if saved is None:
                del os.environ["GDKIT_WORKER_PYTHON"]
            else:
                os.environ["GDKIT_WORKER_PYTHON"] = saved
        if again is None:
            return {"GDKIT_WORKER_PYTHON": DEBIAN_PYTHON}, None
        reason += f"; with {DEBIAN_PYTHON}: {again}"
    return None, reason


# --------------------------------------------------------------------------- building

def replace_function(source: str, name: str, code: str) -> str:
    """`source` with its top-level function `name` replaced by `code` (a whole def)."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            start = (node.decorator_list[0].lineno if node.decorator_list else node.lineno) - 1
            return "".join(lines[:start]) + textwrap.dedent(code).strip("\n") + "\n" + "".join(
                lines[node.end_lineno:])
    raise KeyError(f"no function {name} in the source")


def substitute(code: str, values: dict) -> str:
    def literal(match):
        key = match.group(1)
        if key not in values:
            raise KeyError(f"unknown placeholder @@{key}@@")
        return repr(values[key])
    return re.sub(r"@@([A-Z]+)@@", literal, code)


def build(dest: Path, module: str, function: str | None = None, code: str | None = None,
          top: str = "", files: dict | None = None, values: dict | None = None,
          drop: tuple = ()) -> Path:
    """A submission folder at `dest`: solutions/ with the given changes."""
    values = values or {}
    dest.mkdir(parents=True)
    for src in SOLUTIONS.glob("*.py"):
        if src.stem not in drop:
            shutil.copyfile(src, dest / src.name)
    if module:
        path = dest / f"{module}.py"
        source = path.read_text()
        if function and code is not None:
            source = replace_function(source, function, substitute(code, values))
        if top:
            source += "\n\n" + substitute(textwrap.dedent(top), values).strip("\n") + "\n"
        path.write_text(source)
    for name, text in (files or {}).items():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(substitute(textwrap.dedent(text), values))
    return dest


# --------------------------------------------------------------------------- grading

@dataclass
class Graded:
    layer: str
    format: str
    output: Path
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    text: str | None = None        # the report file's text, as read right after the CLI ended
    doc: dict | None = None        # gradescope/json: the parsed report
    problems: list = field(default_factory=list)   # what is wrong with the report, if anything

    @property
    def score(self) -> float:
        return float(self.doc["score"]) if self.doc else float("nan")

    def tests(self) -> dict:
        if not self.doc:
            return {}
        if "tests" in self.doc:
            return {t["name"]: t for t in self.doc["tests"]}
        return {c["id"]: c for c in self.doc["checks"]}

    def describe(self) -> str:
        return (f"[{self.layer}] exit {self.returncode} after {self.seconds:.1f} s; score "
                f"{self.score if self.doc else '?'}; problems: {self.problems}\n"
                f"stderr: {self.stderr[-2000:]}")


def cli(submission: Path, output: Path, *, layer: str, fmt: str = "gradescope",
        only: str | None = None, timeout: float | None = 1.0, budget: float | None = None,
        seed: int = 1, env_extra: dict | None = None, limit: float = 240.0) -> Graded:
    """Grade `submission` with the command line; the report goes to `output`."""
    cmd = [sys.executable, "-m", "autograder", "grade", str(submission), "--format", fmt,
           "--output", str(output), "--seed", str(seed), "--isolation", layer]
    if only:
        cmd += ["--only", only]
    if timeout is not None:
        cmd += ["--timeout", str(timeout)]
    if budget is not None:
        cmd += ["--budget", str(budget)]
    env = dict(os.environ, **(env_extra or {}))
    env.pop("PYTHONPATH", None)
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        err += f"\n[harness: the grader did not finish within {limit:g} s]".encode()
    graded = Graded(layer, fmt, output, proc.returncode, out.decode("utf-8", "replace"),
                    err.decode("utf-8", "replace"), time.monotonic() - start)
    if output.is_file():
        graded.text = output.read_text(encoding="utf-8", errors="replace")
    return graded


# --------------------------------------------------------------------------- verifying

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def expected_checks(only: str | None):
    """(ids in grading order, {id: max points}) of the checks that `--only only` selects."""
    from autograder.checks import all_checks
    from autograder.engine.grader import max_points, select

    checks = select(all_checks(), only)
    weights = max_points(all_checks())
    return [c.id for c in checks], {c.id: weights[c.id] for c in checks}


def points(value: Fraction) -> float:
    return int(value) if value.denominator == 1 else round(float(value), 4)


def verify(graded: Graded, only: str | None) -> Graded:
    """Check that the report is the grader's own: complete, consistent, parseable, untampered.
    Problems are collected in graded.problems (empty when all is well)."""
    p = graded.problems
    if graded.returncode not in (0, 1):
        p.append(f"the grader exited with {graded.returncode}")
    if "Traceback (most recent call last)" in graded.stderr:
        p.append("the grader printed a traceback")
    if "FORGED" in graded.stdout or "FORGED" in graded.stderr:
        p.append("forged text on the grader's own stdout or stderr")
    if graded.text is None:
        p.append("no report file")
        return graded
    if "FORGED" in graded.text and graded.format != "text":
        p.append("the report holds forged text")
    ids, weights = expected_checks(only)
    total = sum(weights.values(), Fraction(0))
    if graded.format in ("gradescope", "json"):
        try:
            graded.doc = json.loads(graded.text)
        except ValueError as e:
            p.append(f"the report is not JSON: {e}")
            return graded
        doc = graded.doc
        if graded.format == "gradescope":
            keys = {"score", "execution_time", "output", "output_format", "test_output_format",
                    "visibility", "stdout_visibility", "tests", "extra_data"}
            if set(doc) != keys:
                p.append(f"unexpected keys {sorted(set(doc) ^ keys)}")
                return graded
            tests = doc["tests"]
            names = [t.get("name") for t in tests]
            scores = [t.get("score") for t in tests]
            maxes = [t.get("max_score") for t in tests]
            faults = doc["extra_data"].get("faults")
        else:
            tests = doc.get("checks", [])
            names = [t.get("id") for t in tests]
            scores = [t.get("points") for t in tests]
            maxes = [t.get("max_points") for t in tests]
            faults = doc.get("faults")
            if doc.get("max_score") != points(total):
                p.append(f"max_score {doc.get('max_score')} is not {points(total)}")
        if names != ids:
            p.append(f"the checks are not the grader's: {set(names) ^ set(ids)}")
        if maxes != [points(weights[i]) for i in ids if i in weights][:len(maxes)]:
            p.append("a check's max score is not the rubric's")
        if any(not isinstance(s, (int, float)) or s < 0 or s > m + 1e-9
               for s, m in zip(scores, maxes)):
            p.append("a check scored outside 0..max")
        if abs(sum(s for s in scores if isinstance(s, (int, float))) - float(doc["score"])) > 1e-3:
            p.append("the score is not the sum of the checks")
        if faults:
            p.append(f"grader faults: {faults}")
        if graded.format != "text" and not re.search(
                rf"gdkit: score {re.escape(format(float(doc['score']), 'g'))}/"
                rf"{re.escape(format(float(total), 'g'))}, report written to ", graded.stderr):
            p.append("the score on stderr does not match the report")
        if _CONTROL.search(json.dumps(doc, ensure_ascii=False)):
            p.append("control characters in the report")
    elif graded.format == "junit":
        try:
            root = ET.fromstring(graded.text.encode("utf-8"))
        except ET.ParseError as e:
            p.append(f"the report is not XML: {e}")
            return graded
        names = [c.get("name") for c in root.iter("testcase")]
        if names != ids:
            p.append("the test cases are not the grader's")
        if _CONTROL.search(graded.text):
            p.append("control characters in the report")
    elif graded.format == "text":
        p.extend(text_problems(graded.text, ids))
    return graded


# lines the grader itself writes at column 0 of the text report
_OWN = [r"gdkit \S+: .*\(seed \d+, isolation: \w+, [\d.]+ s\)$", r"function +score +checks$",
        r"[a-z_]+\.[a-z_]+ +[\d.]+/[\d.]+  .*$", r"TOTAL +[\d.]+/[\d.]+  \([\d.]+%\)$",
        r"Feedback:$", r"Not implemented yet: [a-z_., ]+$", r"Notes \(no points lost\):$",
        r"GRADER FAULT: .*$", r"note: isolation.*$", r"Score: [\d.]+/[\d.]+\. Replay with --seed \d+\.$", r"✗ .*$", r"$"]


def text_problems(text: str, ids) -> list:
    problems = []
    if _CONTROL.search(text):
        problems.append("control characters or line separators in the text report")
    own = [re.compile(r) for r in _OWN]
    totals, scores = [], []
    for line in text.split("\n"):
        if line.startswith(" "):
            continue
        if not any(r.match(line) for r in own):
            problems.append(f"a line at column 0 the grader did not write: {line[:120]!r}")
        if line.startswith("TOTAL"):
            totals.append(line)
        if line.startswith("Score:"):
            scores.append(line)
        if line.startswith("✗ ") and not any(line.startswith(f"✗ {i}  [") for i in ids):
            problems.append(f"a feedback header that is not a check's: {line[:120]!r}")
    if len(totals) != 1 or len(scores) != 1:
        problems.append(f"{len(totals)} TOTAL lines and {len(scores)} Score lines at column 0")
    else:
        a = re.search(r"(\d+(?:\.\d+)?/\d+(?:\.\d+)?)", totals[0]).group(1)
        b = re.search(r"(\d+(?:\.\d+)?/\d+(?:\.\d+)?)", scores[0]).group(1)
        if a != b:
            problems.append(f"TOTAL says {a}, Score says {b}")
    return problems


def text_score(text: str) -> float:
    for line in text.split("\n"):
        if line.startswith("Score: "):
            return float(line.split()[1].split("/")[0])
    return float("nan")


# --------------------------------------------------------------------------- leftovers

def processes_with(token: str) -> list[tuple[int, str]]:
    """Live (not zombie) processes whose command line or environment holds `token`."""
    found = []
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
            if stat[stat.rfind(b")") + 2:][:1] in (b"Z", b"X"):
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    environ = f.read()
            except OSError:
                environ = b""
        except OSError:
            continue
        if token.encode() in cmdline or token.encode() in environ:
            found.append((int(entry), cmdline.replace(b"\0", b" ").decode(errors="replace")[:200]))
    return found


def files_with(token: str, remove: bool = True) -> list[str]:
    """Files named after `token` in the shared places an attack could write to (removed)."""
    found = []
    for where in ("/tmp", "/var/tmp", "/dev/shm", str(REPO), str(SOLUTIONS)):
        try:
            names = os.listdir(where)
        except OSError:
            continue
        for name in names:
            if token in name:
                path = os.path.join(where, name)
                found.append(path)
                if remove:
                    try:
                        os.remove(path)
                    except OSError:
                        pass
    return found


def kill_all(pids) -> None:
    for pid, _ in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def digest(paths) -> dict:
    out = {}
    for path in paths:
        try:
            out[str(path)] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except OSError:
            out[str(path)] = None
    return out


# --------------------------------------------------------------------------- running the corpus

class Corpus:
    """Grades attacks and their twins, on a few threads (each grading is a subprocess).

    `schedule` queues (attack, layer) pairs in the order the tests will ask for them; `failures`
    waits for one and returns what is wrong (empty: the attack was defeated). Twins that several
    attacks share are graded once per layer."""

    def __init__(self, root: Path, layers: dict, port: int, seen: list, jobs: int,
                 extra_formats_layer: str = "process"):
        import concurrent.futures
        import threading

        self.root, self.layers, self.port, self.seen = root, layers, port, seen
        self.extra_formats_layer = extra_formats_layer
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=jobs,
                                                          thread_name_prefix="corpus")
        self.futures = {}
        self.twins = {}
        self.twin_locks = {}
        self.lock = threading.Lock()
        self.count = 0

    def schedule(self, attack, layer):
        key = (attack.id, layer)
        with self.lock:
            if key not in self.futures:
                self.futures[key] = self.pool.submit(self._run, attack, layer)
        return self.futures[key]

    def failures(self, attack, layer) -> list:
        return self.schedule(attack, layer).result()

    def submit(self, fn, *args):
        return self.pool.submit(fn, *args)

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _where(self, name: str) -> Path:
        with self.lock:
            self.count += 1
            where = self.root / f"{self.count:03d}-{name}"
        where.mkdir(parents=True)
        return where

    def twin(self, attack, layer, fmt) -> Graded:
        import threading

        key = (attack.module, attack.function, attack.twin, attack.selection, attack.timeout,
               layer, fmt)
        with self.lock:
            lock = self.twin_locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self.twins:
                where = self._where(f"twin-{attack.id}-{layer}-{fmt}")
                sub = build(where / "submission", attack.module, attack.function, attack.twin)
                self.twins[key] = verify(cli(sub, where / "out" / f"report.{fmt}", layer=layer,
                                             fmt=fmt, only=attack.selection,
                                             timeout=attack.timeout,
                                             env_extra=self.layers[layer][0]), attack.selection)
        return self.twins[key]

    def _run(self, attack, layer) -> list:
        import uuid

        env = self.layers[layer][0]
        token = f"gdkit-attack-{uuid.uuid4().hex}"
        failures = []
        formats = attack.formats if layer == self.extra_formats_layer else attack.formats[:1]
        for fmt in formats:
            where = self._where(f"{attack.id}-{layer}-{fmt}")
            outdir = where / token
            outdir.mkdir()
            out = outdir / f"report.{fmt}"
            values = {"REPO": str(REPO), "OUT": str(out), "OUTDIR": str(outdir), "PORT": self.port,
                      "TOKEN": token, "FORGED": FORGED_REPORT}
            sub = build(where / "submission", attack.module, attack.function, attack.code,
                        attack.top, attack.files, values)
            graded = verify(cli(sub, out, layer=layer, fmt=fmt, only=attack.selection,
                                timeout=attack.timeout, env_extra=env), attack.selection)
            left = processes_with(token)
            kill_all(left)
            litter = files_with(token)
            failures += [f"{fmt}: {p}" for p in graded.problems]
            if left:
                failures.append(f"{fmt}: processes left behind: {left}")
            if litter:
                failures.append(f"{fmt}: files written outside the grader's stage: {litter}")
            stray = sorted(p.name for p in outdir.iterdir() if p != out)
            if stray:
                failures.append(f"{fmt}: files next to the report: {stray}")
            if graded.text is not None:
                time.sleep(0.2)
                if out.is_file() and out.read_text(errors="replace") != graded.text:
                    failures.append(f"{fmt}: the report changed after the grader ended")
                twin = self.twin(attack, layer, fmt)
                failures += [f"{fmt} twin: {p}" for p in twin.problems]
                mine, theirs = score_of(graded), score_of(twin)
                if not twin.problems and not graded.problems and mine > theirs + 1e-9:
                    failures.append(f"{fmt}: the attack scored {mine}, its honest twin {theirs}")
                if fmt == attack.formats[0]:
                    for pattern in attack.expect:
                        if not re.search(pattern, graded.text):
                            failures.append(f"{fmt}: the report does not say {pattern!r}")
            if failures:
                failures.append(graded.describe())
                break
        if any(token.encode() in s for s in list(self.seen)):
            failures.append("the attack reached the test's TCP listener")
        return failures


def score_of(graded: Graded) -> float:
    return text_score(graded.text) if graded.format == "text" else graded.score


def build_loops(dest: Path) -> Path:
    """solutions/ with the body of every function replaced by an endless loop."""
    dest.mkdir(parents=True)
    for src in SOLUTIONS.glob("*.py"):
        source = re.sub(r"### BEGIN SOLUTION\n.*?### END SOLUTION",
                        "### BEGIN SOLUTION\n    while True:\n        pass\n    ### END SOLUTION",
                        src.read_text(), flags=re.S)
        (dest / src.name).write_text(source)
    return dest
