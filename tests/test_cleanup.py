"""Tests of cleaning up: a grader stopped by SIGTERM or SIGINT (a CI or batch timeout, Ctrl-C), or
one that just exits, leaves no stage folder, no worker and no id lease behind, in every layer;
and a forked grading child never cleans up, releases or kills what its parent owns.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from autograder import sandbox
from autograder.sandbox import cleanup, forksafe, leases, procfs, tree

from test_isolation import _layer_setup

REPO = Path(__file__).resolve().parents[1]

SLOW_MODULE = '''\
import time


def predict(*args):
    time.sleep(60)
'''


@pytest.fixture(params=sandbox.LAYERS)
def layer(request, monkeypatch):
    _layer_setup(request.param, monkeypatch)
    return request.param


@pytest.fixture
def tmpdir_open():
    """The grader's TMPDIR: its own, so that its stages can be counted; traversable by worker uids."""
    d = Path(tempfile.mkdtemp(prefix="gdkit-test-cleanup-", dir="/tmp"))
    os.chmod(d, 0o755)
    yield d
    tree.remove_tree(d)


def _records(pid: int) -> dict[int, dict]:
    """The id leases whose record names `pid` (uid and bwrap layers; nothing without root)."""
    found = {}
    try:
        directory = leases.lock_dir()
        names = os.listdir(directory)
    except (OSError, RuntimeError):
        return found
    for name in names:
        try:
            record = json.loads(Path(directory, name).read_text() or "{}")
        except (OSError, ValueError):
            continue
        if record.get("pid") == pid:
            found[int(name)] = record
    return found


def _in_stage(stage: str) -> list[int]:
    """Live processes whose cwd is inside `stage` or whose environment names it."""
    return sorted(procfs.marked(stage, {p: None for p in procfs.pids()}) - {os.getpid()})


def _wait_for(predicate, timeout=10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_mid_grade_leaves_nothing_behind(layer, sig, tmp_path, tmpdir_open):
    sub = tmp_path / "slow"
    sub.mkdir()
    (sub / "linear_regression_basic.py").write_text(SLOW_MODULE)
    env = dict(os.environ, TMPDIR=str(tmpdir_open), PYTHONPATH=str(REPO))
    grader = subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(sub), "--isolation", layer,
                               "--timeout", "30"], cwd=str(REPO), env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # mid-grade: the stage exists and a worker of it is running the sleeping predict
        assert _wait_for(lambda: any(tmpdir_open.glob("gdkit-stage-*")) and
                         any(_in_stage(str(s)) for s in tmpdir_open.glob("gdkit-stage-*")), 30), \
            grader.stderr.read1().decode() if grader.poll() is not None else "no worker started"
        stages = [str(s) for s in tmpdir_open.glob("gdkit-stage-*")]
        time.sleep(1.0)  # inside the call
        held = _records(grader.pid)
        if layer != "process":
            roles = sorted(r["role"] for r in held.values())
            assert "stage" in roles and "worker" in roles, held
        assert grader.poll() is None, "the grade ended before the signal"
        grader.send_signal(sig)
        out, err = grader.communicate(timeout=30)
    finally:
        if grader.poll() is None:
            grader.kill()
            grader.wait()
    assert grader.returncode == 128 + sig, err.decode()[-2000:]
    assert list(tmpdir_open.glob("gdkit-stage-*")) == []
    assert _records(grader.pid) == {}, "an id lease is left behind"
    for stage in stages:
        assert _wait_for(lambda: not _in_stage(stage), 5), f"a worker of {stage} survived"
    assert _wait_for(lambda: procfs.owners(set(held)) == set(), 5), "a process of a worker id survived"


FORKER = r'''
import json, os, signal, subprocess, sys, time
from pathlib import Path
from autograder import sandbox
layer, d = sys.argv[1], Path(sys.argv[2])
(d / "w.py").write_text("import sys\nprint('up', flush=True)\nsys.stdin.read()\n")
(d / "sub").mkdir()
assert sandbox.install_signal_handlers() and sandbox.install_signal_handlers()  # twice is fine
parent_stage = sandbox.make_stage(d / "w.py", d / "sub")
parent_worker = sandbox.spawn(layer, parent_stage, [], sandbox.Limits(), subprocess.DEVNULL)
assert parent_worker.stdout.readline() == b"up\n"
gid_file = Path("/run/gdkit/ids") / str(parent_stage.gid)
result = {}

# a child that cleans up its own on SIGTERM: its own stage and worker only
child = os.fork()
if child == 0:
    own = sandbox.make_stage(d / "w.py", d / "sub")
    w = sandbox.spawn(layer, own, [], sandbox.Limits(), subprocess.DEVNULL)
    w.stdout.readline()
    (d / "child_stage").write_text(str(own.path))
    parent_stage.close()  # a stage of the parent: left to the parent
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(10)
    os._exit(1)
_, status = os.waitpid(child, 0)
child_stage = Path((d / "child_stage").read_text())
result["sigterm_child"] = {"exit": os.waitstatus_to_exitcode(status), "own_stage_gone": not child_stage.exists(),
                           "parent_stage": parent_stage.path.exists(), "parent_worker": parent_worker.poll() is None,
                           "parent_gid_lease": parent_stage.gid is None or gid_file.exists()}

# a child that just exits (atexit runs): nothing of the parent's is touched
child = os.fork()
if child == 0:
    parent_worker.kill()  # the parent's worker: a child may kill it, but not release its id
    sys.exit(0)
_, status = os.waitpid(child, 0)
result["exiting_child"] = {"exit": os.waitstatus_to_exitcode(status), "parent_stage": parent_stage.path.exists(),
                           "parent_gid_lease": parent_stage.gid is None or gid_file.exists(),
                           "worker_lease": parent_worker.lease is None or parent_worker.lease.held}
parent_worker.kill()
parent_stage.close()
result["parent_closed"] = {"stage_gone": not parent_stage.path.exists(),
                           "gid_released": parent_stage.gid is None and not gid_file.exists()}
print(json.dumps(result), flush=True)
'''


def test_a_forked_child_cleans_up_only_its_own(layer, tmp_path):
    """A batch parent forks a grading child per submission: the child's SIGTERM cleanup and its
    exit handlers remove the child's stages only; the parent's stage, worker and leases stay."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", FORKER, layer, str(tmp_path)], capture_output=True, text=True,
                         timeout=120, env=env, cwd=str(REPO))
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)
    assert result["sigterm_child"] == {"exit": 143, "own_stage_gone": True, "parent_stage": True,
                                       "parent_worker": True, "parent_gid_lease": True}
    assert result["exiting_child"] == {"exit": 0, "parent_stage": True, "parent_gid_lease": True,
                                       "worker_lease": True}
    assert result["parent_closed"] == {"stage_gone": True, "gid_released": True}


EXITER = r'''
import subprocess, sys
from pathlib import Path
from autograder import sandbox
layer, d = sys.argv[1], Path(sys.argv[2])
(d / "w.py").write_text("import sys\nprint('up', flush=True)\nsys.stdin.read()\n")
(d / "sub").mkdir()
stage = sandbox.make_stage(d / "w.py", d / "sub")
worker = sandbox.spawn(layer, stage, [], sandbox.Limits(), subprocess.DEVNULL)
worker.stdout.readline()
print(stage.path, worker.pid, flush=True)
raise SystemExit(3)  # neither closed nor killed
'''


def test_an_exiting_grader_cleans_up_what_it_left_open(layer, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", EXITER, layer, str(tmp_path)], capture_output=True, text=True,
                         timeout=60, env=env, cwd=str(REPO))
    assert out.returncode == 3, out.stderr[-2000:]
    stage, pid = out.stdout.split()
    assert not os.path.exists(stage)
    assert not procfs.alive(int(pid))
    assert _in_stage(stage) == []


def test_install_signal_handlers_is_idempotent():
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        assert sandbox.install_signal_handlers()
        first = signal.getsignal(signal.SIGTERM)
        assert sandbox.install_signal_handlers()
        assert signal.getsignal(signal.SIGTERM) is first is cleanup._on_signal
        assert signal.getsignal(signal.SIGINT) is cleanup._on_signal
        result = []
        t = threading.Thread(target=lambda: result.append(cleanup.install_signal_handlers()))
        cleanup._state["installed"] = None
        t.start()
        t.join()
        assert result == [False]  # not on the main thread: says so, changes nothing
    finally:
        for s, h in before.items():
            signal.signal(s, h)
        cleanup._state["installed"] = None


def test_a_lock_held_at_fork_is_free_in_the_child():
    """A thread of the parent holds the sandbox's lock at the fork: the child is not stuck."""
    lock = forksafe.RLock()
    held, release = threading.Event(), threading.Event()

    def holder():
        with lock, leases._lock:
            held.set()
            release.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    held.wait(5)
    try:
        pid = os.fork()
        if pid == 0:
            ok = lock._lock.acquire(timeout=2) and leases._lock._lock.acquire(timeout=2)
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
    finally:
        release.set()
        t.join()
    assert os.waitstatus_to_exitcode(status) == 0
