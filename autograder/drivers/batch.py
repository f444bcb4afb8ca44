"""`gdkit grade-batch SUBMISSIONS_DIR --output-dir OUT` and `gdkit merge OUT... --output-dir DIR`
(docs/batch.md).

One warm, trusted parent (NumPy imported, the checks built, the isolation layer chosen) forks a
grading child per submission, at most --jobs at once. A child is a process group of its own with
a private temporary folder (its stages live there); it reads its submission (drivers/submissions),
grades it with `engine.grader.Grader` in its own sandboxed workers, writes its feedback files and
then its record (`OUT/results/<file>.json`, atomically, last) and exits. The parent kills a child
that outlives the wall-clock limit (its whole process group, then any process still working in its
folder) and removes the folder, whatever the child did; a child dies with the parent
(PR_SET_PDEATHSIG).

A record is kept across runs: its key is a hash of the submission's name, the seed, a hash of its
content and gdkit's version; a run skips every submission whose record has its key, so that an
interrupted batch run again grades only the rest, and ends with the same gradebook.
"""
from __future__ import annotations

import contextlib
import fcntl
import gc
import hashlib
import json
import os
import re
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

from .. import __version__
from ..results import Report, as_number
from . import submissions as subs

RESULTS, FEEDBACK = "results", "feedback"
STATE = "batch.json"
EXIT_OK, EXIT_ERROR = 0, 2
GRACE = 3.0    # seconds a child has to clean up after SIGTERM before SIGKILL
POLL = 0.05


class Interrupted(BaseException):
    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


# --------------------------------------------------------------------------- names and records

def file_stem(name: str) -> str:
    """A file name for a submission's results and feedback: its name where that is safe, else a
    safe spelling with a short hash of the name (so that two names never share a file)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:80].lstrip(".") or "_"
    if safe != name:
        safe += "-" + hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return safe


def record_key(name: str, seed: int, digest: str) -> str:
    text = f"{name}\0{seed}\0{digest}\0{__version__}".encode("utf-8", "surrogateescape")
    return hashlib.sha256(text).hexdigest()[:32]


def write_atomic(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def record(name, file, key, seed, digest, report: Report, *, status="graded", error="") -> dict:
    """What a batch keeps of one submission: the gradebook's row and, per check, what the class
    report counts."""
    functions = {f.key: as_number(f.points) for f in report.functions}
    timeouts = [f.key for f in report.functions if any(c.status == "timeout" for c in f.checks)]
    problems = [error] if error else []
    if timeouts:
        problems.append("timed out: " + ", ".join(timeouts))
    if report.faults:
        problems.append(f"grader fault in {len(report.faults)} check(s)")
    return {"name": name, "file": file, "key": key, "seed": seed, "digest": digest,
            "version": __version__, "status": status, "error": "; ".join(problems),
            "total": as_number(report.score), "functions": functions,
            "checks": [{"id": c.id, "key": c.key, "passed": c.passed, "status": c.status,
                        "slides": c.slides, "hint": c.hint} for c in report.checks]}


def not_graded(name, seed, reason) -> Report:
    return Report(name, seed, "none", [], version=__version__, notes=[f"not graded: {reason}"])


def write_submission(out: Path, rec: dict, report: Report) -> None:
    """The feedback files, then the record (last: a record means everything is written)."""
    from ..formats import html, markdown

    write_atomic(out / FEEDBACK / f"{rec['file']}.md", markdown.render(report))
    write_atomic(out / FEEDBACK / f"{rec['file']}.html", html.render(report))
    write_atomic(out / RESULTS / f"{rec['file']}.json", json.dumps(rec, indent=1, ensure_ascii=False))


def load_record(out: Path, file: str, key: str | None = None) -> dict | None:
    try:
        rec = json.loads((out / RESULTS / f"{file}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(rec, dict) or (key is not None and rec.get("key") != key):
        return None
    return rec


# --------------------------------------------------------------------------- the grading child

def _die_with_parent(parent: int) -> None:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)   # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - not Linux: the parent's cleanup still runs
        pass
    if os.getppid() != parent:
        os._exit(1)


def _child(job, out: Path, seed: int, policy, parent: int) -> None:
    """The forked child: grade one submission, write its files, exit. Never returns."""
    code = 1
    try:
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)
        _die_with_parent(parent)
        from .. import sandbox

        sandbox.install_signal_handlers()   # a SIGTERM removes this child's stages and leases
        devnull = os.open(os.devnull, os.O_RDWR)
        log = os.open(job.work / "child.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.dup2(log, 2)
        sys.stdout = open(os.devnull, "w")
        sys.stderr = open(log, "w", closefd=False)
        tempfile.tempdir = str(job.work / "tmp")
        rec, report = _grade(job, seed, policy)
        write_submission(out, rec, report)
        code = 0
    except BaseException:  # noqa: BLE001 - the parent records the failure from the log
        with contextlib.suppress(Exception):
            traceback.print_exc()
            sys.stderr.flush()
    finally:
        os._exit(code)


def _grade(job, seed, policy) -> tuple[dict, Report]:
    from ..engine.grader import grade
    from ..engine.workers import WorkerFault, Workers
    from ..formats.sanitize import clean

    sub = job.submission
    try:
        folder, notes = subs.materialize(sub, job.work / "in")
    except subs.Unreadable as e:
        reason = clean(str(e))
        return (record(sub.name, job.file, job.key, seed, job.digest, not_graded(sub.name, seed, reason),
                       status="failed", error=reason), not_graded(sub.name, seed, reason))
    notes = [clean(n) for n in notes]
    try:
        workers = Workers(folder, policy)
        try:
            report = grade(folder, seed=seed, policy=policy, workers=workers)
        finally:
            workers.close()
    except WorkerFault as e:
        reason = clean(f"grader fault: {e}")
        return (record(sub.name, job.file, job.key, seed, job.digest, not_graded(sub.name, seed, reason),
                       status="failed", error=reason), not_graded(sub.name, seed, reason))
    report.submission = sub.name
    report.notes = [f"{sub.kind} {sub.path.name}: {n}" for n in notes] + report.notes
    return record(sub.name, job.file, job.key, seed, job.digest, report, error="; ".join(notes)), report


# --------------------------------------------------------------------------- the parent

class Job:
    def __init__(self, submission: subs.Submission, seed: int):
        self.submission = submission
        self.file = file_stem(submission.name)
        self.digest = submission.digest()
        self.key = record_key(submission.name, seed, self.digest)
        self.pid = None
        self.pidfd = None
        self.started = 0.0
        self.work: Path | None = None


def _kill_leftovers(work: Path) -> None:
    """Every process still working in a dead child's folder (a worker of a layer that does not
    die with its parent), then the folder."""
    from ..sandbox import procfs, tree

    if not work.exists():
        return
    for _ in range(3):
        procs = procfs.table()
        found = procfs.marked(str(work), procs)
        for stage in (work / "tmp").glob("gdkit-stage-*"):
            found |= procfs.marked(str(stage), procs)
        found -= {os.getpid(), 1}
        if not found:
            break
        procfs.signal_all(found, signal.SIGKILL)
        time.sleep(0.05)
    tree.remove_tree(work)


def _stop(job: Job, sig=signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(job.pid, sig)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(job.pid, sig)


def _reap(job: Job, block=False):
    """The child's wait status once it has exited, else None."""
    try:
        pid, status = os.waitpid(job.pid, 0 if block else os.WNOHANG)
    except ChildProcessError:
        return 0
    return status if pid else None


def _wait_any(jobs, limit: float) -> None:
    """Until one of these children exits, or the first of them reaches its wall-clock limit
    (woken at once through their pidfds; every POLL seconds where there are none)."""
    jobs = list(jobs)
    fds = [j.pidfd for j in jobs if j.pidfd is not None]
    timeout = max(0.0, min(j.started + limit for j in jobs) - time.monotonic()) + 0.01
    if len(fds) < len(jobs):
        timeout = min(timeout, POLL)
    if fds:
        select.select(fds, [], [], timeout)
    else:
        time.sleep(timeout)


def _close_pidfd(job: Job) -> None:
    if job.pidfd is not None:
        with contextlib.suppress(OSError):
            os.close(job.pidfd)
        job.pidfd = None


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""


class Batch:
    def __init__(self, root, out, *, jobs, seed, policy, child_timeout, shard=None,
                 assignment=None, progress=None):
        self.root, self.out = Path(root), Path(out)
        self.jobs = max(1, int(jobs))
        self.seed, self.policy, self.child_timeout = seed, policy, child_timeout
        self.shard, self.assignment = shard, assignment
        self.progress = progress
        self.work = None
        self.started = 0   # children started so far: each gets the folder of its number

    def run(self) -> int:
        from ..formats.sanitize import clean

        found, skipped = subs.discover(self.root, assignment=self.assignment)
        if self.shard:
            found = subs.shard(found, *self.shard)
        jobs = [Job(s, self.seed) for s in found]
        todo = [j for j in jobs if load_record(self.out, j.file, j.key) is None]
        for line in skipped:
            self.progress.note(f"skipped {clean(line)}")
        self.progress.start(len(jobs), len(jobs) - len(todo))
        if todo:
            self._warm()
            self.work = Path(tempfile.mkdtemp(prefix="gdkit-batch-"))
            os.chmod(self.work, 0o711)   # worker uids pass through to their stages
            _save_state(self.out, {"seed": self.seed, "work": str(self.work), "pid": os.getpid()})
            try:
                self._loop(todo)
            finally:
                shutil.rmtree(self.work, ignore_errors=True)
        records = [load_record(self.out, j.file, j.key) for j in jobs]
        missing = [j.submission.name for j, r in zip(jobs, records) if r is None]
        if missing:   # never: every job ends with a record
            raise RuntimeError(f"no record for {', '.join(missing)}")
        write_outputs(self.out, records, seed=self.seed)
        self.graded = [(j.submission, r) for j, r in zip(jobs, records)]   # --nbgrader-course
        self.progress.finish(records)
        return EXIT_OK

    def _warm(self):
        """Everything a child would otherwise load by itself: NumPy, sympy (for the formula of
        a failed plain-Python function), the checks, the rubric, the isolation layer's trial."""
        import numpy  # noqa: F401

        from .. import lecture, sandbox
        from ..checks import all_checks
        from ..engine import grader  # noqa: F401
        from ..formats import html, markdown  # noqa: F401

        all_checks()
        lecture.rubric()
        import sympy  # noqa: F401 - a failed plain-Python function's formula (feedback/formula)
        if self.policy.layer == "auto":
            sandbox.strongest()
        else:
            sandbox.unavailable(self.policy.layer)
        gc.collect()
        gc.freeze()   # what the children inherit is never traversed by their collections (nor
        #               copied: a collection writes to every object it visits)

    def _loop(self, todo):
        pending, running = list(todo), {}
        try:
            while pending or running:
                while pending and len(running) < self.jobs:
                    job = pending.pop(0)
                    self._start(job)
                    running[job.pid] = job
                for pid, job in list(running.items()):
                    status = _reap(job)
                    if status is None and time.monotonic() - job.started > self.child_timeout:
                        _stop(job)
                        _reap(job, block=True)
                        self._failed(job, f"killed after the wall-clock limit of "
                                          f"{self.child_timeout:g} s")
                    elif status is not None:
                        self._ended(job, status)
                    else:
                        continue
                    del running[pid]
                    _close_pidfd(job)
                    _kill_leftovers(job.work)
                if running and not (pending and len(running) < self.jobs):
                    _wait_any(running.values(), self.child_timeout)
        except Interrupted:
            for job in running.values():
                _stop(job, signal.SIGTERM)
            deadline = time.monotonic() + GRACE
            while running and time.monotonic() < deadline:
                for pid, job in list(running.items()):
                    if _reap(job) is not None:
                        del running[pid]
                time.sleep(POLL)
            for job in running.values():
                _stop(job)
                _reap(job, block=True)
                _close_pidfd(job)
            for job in todo:
                if job.work is not None:
                    _kill_leftovers(job.work)
            raise

    def _start(self, job: Job):
        self.started += 1
        job.work = self.work / f"{self.started:05d}"
        job.work.mkdir()
        os.chmod(job.work, 0o711)
        (job.work / "tmp").mkdir(mode=0o711)
        os.chmod(job.work / "tmp", 0o711)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            _child(job, self.out, self.seed, self.policy, parent)
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)   # also in the child: whichever runs first
        job.pid, job.started = pid, time.monotonic()
        try:
            job.pidfd = os.pidfd_open(pid)   # readable once the child has exited
        except (AttributeError, OSError):
            job.pidfd = None

    def _ended(self, job: Job, status: int):
        rec = load_record(self.out, job.file, job.key)
        if rec is not None and os.waitstatus_to_exitcode(status) == 0:
            self.progress.done(rec, time.monotonic() - job.started)
            return
        code = os.waitstatus_to_exitcode(status)
        why = f"killed by signal {-code}" if code < 0 else f"exited with status {code}"
        last = _last_line(job.work / "child.log")
        self._failed(job, f"the grading process {why}" + (f" ({last})" if last else ""))

    def _failed(self, job: Job, reason: str):
        from ..formats.sanitize import clean

        reason = clean(reason)
        report = not_graded(job.submission.name, self.seed, reason)
        rec = record(job.submission.name, job.file, job.key, self.seed, job.digest, report,
                     status="failed", error=reason)
        write_submission(self.out, rec, report)
        self.progress.done(rec, time.monotonic() - job.started)


def write_outputs(out: Path, records, *, seed) -> None:
    """The gradebook (CSV, JSON) and the class report (Markdown, HTML) of these records."""
    from ..formats import classreport, gradebook

    records = sorted(records, key=lambda r: r["name"])
    write_atomic(out / "gradebook.csv", gradebook.to_csv(records))
    write_atomic(out / "gradebook.json", gradebook.to_json(records, seed=seed))
    parts = classreport.parts(records)
    png = classreport.plot(parts)
    if png:
        write_atomic(out / "class-report-scores.png", png)
    write_atomic(out / "class-report.md",
                 classreport.markdown(parts, image="class-report-scores.png" if png else None))
    write_atomic(out / "class-report.html", classreport.html(parts, png=png))


# --------------------------------------------------------------------------- state and locking

def _load_state(out: Path) -> dict:
    try:
        state = json.loads((out / STATE).read_text(encoding="utf-8"))
        return state if isinstance(state, dict) else {}
    except (OSError, ValueError):
        return {}


def _save_state(out: Path, state: dict) -> None:
    write_atomic(out / STATE, json.dumps(state, indent=1) + "\n")


def _clean_stale(state: dict) -> None:
    """The work folder of an earlier run of this OUT that was killed (its children died with it;
    their stages may still be there)."""
    work = state.get("work")
    if work and Path(work).name.startswith("gdkit-batch-") and Path(work).is_dir():
        for child in Path(work).iterdir():
            _kill_leftovers(child)
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def _locked(out: Path):
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(out / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(f"another gdkit grade-batch is writing into {out}") from None
        yield
    finally:
        os.close(fd)


def _on_signal(signum, frame):
    raise Interrupted(signum)


# --------------------------------------------------------------------------- commands

def parse_shard(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not m or not (1 <= int(m.group(1)) <= int(m.group(2))):
        raise ValueError(f"--shard wants K/N with 1 <= K <= N, not {text!r}")
    return int(m.group(1)), int(m.group(2))


def run(args) -> int:
    """`gdkit grade-batch`."""
    from .. import sandbox
    from ..engine import policy as pol
    from ..engine.grader import new_seed
    from .progress import Progress

    root, out = Path(args.submissions), Path(args.output_dir)
    if not root.is_dir():
        return _error(f"error: {root} is not a folder")
    try:
        chosen = pol.Policy(timeout=args.timeout, budget=args.budget, layer=args.isolation)
        shard = parse_shard(args.shard) if args.shard else None
    except ValueError as e:
        return _error(f"error: {e}")
    if chosen.required and sandbox.unavailable(chosen.required):
        return _error(f"error: isolation layer {chosen.required!r} was required but is "
                      f"unavailable here: {sandbox.unavailable(chosen.required)}")
    limit = args.child_timeout or (chosen.budget + 4 * chosen.timeout + 30)
    course = getattr(args, "nbgrader_course", None)
    if course:
        from . import nbgrader_gradebook

        problem = nbgrader_gradebook.preflight(course)
        if problem:
            return _error(f"error: {problem}")
    previous = [signal.signal(s, _on_signal) for s in (signal.SIGTERM, signal.SIGINT)]
    progress = Progress()
    try:
        with _locked(out):
            state = _load_state(out)
            _clean_stale(state)
            seed = args.seed if args.seed is not None else state.get("seed", new_seed())
            _save_state(out, {"seed": seed})
            progress.note(f"grading {root} into {out} (seed {seed}, up to {args.jobs} at once)")
            batch = Batch(root, out, jobs=args.jobs, seed=seed, policy=chosen,
                          child_timeout=limit, shard=shard, assignment=args.assignment,
                          progress=progress)
            code = batch.run()
            return _into_nbgrader(course, batch.graded, out) if course else code
    except Interrupted as e:
        progress.close()
        print(f"gdkit: interrupted; what was graded is kept in {out}/{RESULTS}: run the same "
              "command again to grade the rest", file=sys.stderr)
        return 128 + e.signum
    except RuntimeError as e:
        progress.close()
        return _error(f"error: {e}")
    finally:
        progress.close()
        for s, h in zip((signal.SIGTERM, signal.SIGINT), previous):
            signal.signal(s, h)


def _into_nbgrader(course, graded, out: Path) -> int:
    """--nbgrader-course: the scores into the course's gradebook (drivers/nbgrader_gradebook)."""
    from . import nbgrader_gradebook

    try:
        summary = nbgrader_gradebook.write(course, graded)
    except nbgrader_gradebook.Error as e:
        return _error(f"error: {e} (the batch's own gradebook is in {out}; once fixed, the same "
                      "command writes it without grading again)")
    for line in summary.lines():
        print(f"gdkit: {line}", file=sys.stderr)
    return EXIT_OK


def merge(args) -> int:
    """`gdkit merge OUT... --output-dir DIR`: the shards' records into one gradebook and class
    report (and their feedback files), exactly as one unsharded run writes them."""
    out = Path(args.output_dir)
    seeds, by_name = set(), {}
    for shard in map(Path, args.outputs):
        try:
            doc = json.loads((shard / "gradebook.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            return _error(f"error: {shard} holds no readable gradebook.json ({type(e).__name__})")
        seeds.add(doc.get("seed"))
        for entry in doc.get("submissions", []):
            rec = load_record(shard, entry["file"], entry["key"])
            if rec is None:
                return _error(f"error: {shard}/{RESULTS}/{entry['file']}.json is missing or stale")
            if entry["name"] in by_name and by_name[entry["name"]][0]["key"] != rec["key"]:
                return _error(f"error: {entry['name']!r} was graded differently in two shards")
            by_name[entry["name"]] = (rec, shard)
    if len(seeds) > 1:
        return _error(f"error: the shards were graded with different seeds ({sorted(map(str, seeds))})")
    if not by_name:
        return _error("error: no submissions in these outputs")
    with _locked(out):
        for name, (rec, shard) in by_name.items():
            if shard.resolve() != out.resolve():
                for sub, ext in ((FEEDBACK, ".md"), (FEEDBACK, ".html"), (RESULTS, ".json")):
                    src = shard / sub / f"{rec['file']}{ext}"
                    write_atomic(out / sub / f"{rec['file']}{ext}", src.read_bytes())
        seed = seeds.pop()
        _save_state(out, {"seed": seed})
        write_outputs(out, [rec for rec, _ in by_name.values()], seed=seed)
    print(f"gdkit: merged {len(by_name)} submissions from {len(args.outputs)} outputs into {out}",
          file=sys.stderr)
    return EXIT_OK


def _error(message: str) -> int:
    print(f"gdkit: {message}", file=sys.stderr)
    return EXIT_ERROR

