"""Tests of autograder.sandbox: each available layer runs a stand-in worker.

The stand-in worker (STAND_IN below, written into the test's tmp dir) does not
depend on the real autograder/worker/. It probes its surroundings, prints one
JSON line, optionally leaves a setsid'd, reparented grandchild behind, then
waits on stdin.

A layer that does not work on this machine is skipped with the reason. The uid
layer cannot run the pyenv Python under /root (mode 0700); when Debian's
/usr/bin/python3 has numpy (apt-get install python3-numpy) the uid layer is
tested with GDKIT_WORKER_PYTHON=/usr/bin/python3 instead.

In the uid and bwrap layers every worker has a uid/gid of its own (Worker.uid),
leased from sandbox.ID_BASE.., and its stage's group (Stage.gid) as its only
supplementary group. Staging (copy and removal) is tested in test_stage.py,
cleanup on signals and after fork() in test_cleanup.py.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

import pytest

from autograder import sandbox
from autograder.sandbox import bwrap, exposure, interpreter, leases, procfs, seccomp

REPO = Path(__file__).resolve().parents[1]
DEBIAN_PYTHON = "/usr/bin/python3"

STAND_IN = r'''
import ctypes, errno, json, os, resource, socket, sys, time

def attempt(fn):
    try:
        fn()
        return "ok"
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))
    except MemoryError:
        return "MemoryError"

def read(path):
    with open(path, "rb") as fh:
        fh.read(1)

def write(path):
    with open(path, "w") as fh:
        fh.write("x")

def connect(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(2)
        s.connect(("127.0.0.1", port))
    finally:
        s.close()

def unshare_user():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x10000000) != 0:  # CLONE_NEWUSER
        raise OSError(ctypes.get_errno(), "unshare")

def alloc():
    b = bytearray(2 << 30)
    b[-1] = 1

def status():
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            k, _, v = line.partition(":")
            out[k] = v.split()
    return out

def walk_reads(top):
    # could this process read at least one regular file under `top` (or `top` itself)?
    if os.path.isfile(top):
        return attempt(lambda: read(top)) == "ok"
    for dirpath, dirnames, filenames in os.walk(top):
        for f in filenames:
            if attempt(lambda: read(os.path.join(dirpath, f))) == "ok":
                return True
    return False

def whoami():
    import pwd
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return None

cfg = json.loads(sys.argv[1])
import numpy
a = numpy.ones((64, 64))
st = status()
report = {
    "uid": [int(x) for x in st["Uid"]],
    "gid": [int(x) for x in st["Gid"]],
    "groups": os.getgroups(),
    "cap_eff": st["CapEff"][0],
    "no_new_privs": st["NoNewPrivs"][0],
    "seccomp": st.get("Seccomp", ["?"])[0],
    "env": dict(os.environ),
    "cwd": os.getcwd(),
    "prefix": sys.prefix,
    "numpy": numpy.__version__,
    "matmul": float((a @ a)[0, 0]),
    "rlimits": {name: resource.getrlimit(getattr(resource, name))
                for name in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_NOFILE",
                             "RLIMIT_CORE", "RLIMIT_NPROC")},
    "exists": {p: os.path.exists(p) for p in cfg["paths"]},
    "read": {p: attempt(lambda p=p: read(p)) for p in cfg["paths"]},
    "write_cwd": attempt(lambda: write("written.txt")),
    "write_tmp": attempt(lambda: write(os.path.join(os.environ["TMPDIR"], "scratch.txt"))),
    "connect": attempt(lambda: connect(cfg["port"])),
    "netdevs": sorted(l.split(":")[0].strip() for l in open("/proc/net/dev").readlines()[2:]),
    "unshare_user": attempt(unshare_user),
    "alloc_2g": attempt(alloc),
    "whoami": whoami(),
    "walk": {p: walk_reads(p) for p in cfg.get("walk", [])},
}
if cfg.get("orphan"):
    # a child that calls setsid, then forks a grandchild and exits: the
    # grandchild is in its own session, reparented, and sleeps with a token
    # in its command line so the test can find it on the host
    r, w = os.pipe()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.close(r)
            os.write(w, b"x")
            argv = [sys.executable, "-c", "import time; time.sleep(300)", cfg["orphan"]]
            if cfg.get("hide"):  # no trace of the stage: cwd /, empty environment
                os.chdir("/")
                os.execve(sys.executable, argv, {})
            os.execv(sys.executable, argv)
        os._exit(0)
    os.close(w)
    os.read(r, 1)
    time.sleep(0.1)
if cfg.get("forks"):
    # a small fork bomb: children that just sleep; count how many we got
    n = 0
    for _ in range(cfg["forks"]):
        try:
            if os.fork() == 0:
                time.sleep(60)
                os._exit(0)
            n += 1
        except OSError:
            pass
    report["forked"] = n
sys.stdout.write(json.dumps(report) + "\n")
sys.stdout.flush()
sys.stdin.read()  # until the test closes stdin or kills us
'''


def _debian_python_has_numpy() -> bool:
    try:
        return subprocess.run([DEBIAN_PYTHON, "-I", "-c", "import numpy"], capture_output=True,
                              timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _layer_setup(layer: str, monkeypatch) -> str:
    """Make `layer` usable (maybe with Debian's python) or skip; returns the interpreter used."""
    reason = sandbox.unavailable(layer)
    if reason is not None and layer == "uid" and "GDKIT_WORKER_PYTHON" not in os.environ:
        if _debian_python_has_numpy():
            monkeypatch.setenv("GDKIT_WORKER_PYTHON", DEBIAN_PYTHON)
            reason = sandbox.unavailable(layer)
            if reason is None:
                print(f"uid layer: default interpreter unavailable; using GDKIT_WORKER_PYTHON={DEBIAN_PYTHON}")
        else:
            reason += f" (and {DEBIAN_PYTHON} has no numpy: apt-get install python3-numpy)"
    if reason is not None:
        print(f"SKIP {layer}: {reason}")
        pytest.skip(f"{layer} layer unavailable: {reason}")
    return sandbox.worker_python()


@pytest.fixture(params=sandbox.LAYERS)
def layer(request, monkeypatch):
    _layer_setup(request.param, monkeypatch)
    return request.param


@pytest.fixture
def secret(tmp_path):
    """A file in a 0700 root-owned directory."""
    d = tmp_path / "vault"
    d.mkdir()
    f = d / "answers.txt"
    f.write_text("42\n")
    os.chmod(f, 0o644)
    os.chmod(d, 0o700)
    return f


@pytest.fixture
def listener():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    yield s.getsockname()[1]
    s.close()


def _stage(tmp_path) -> sandbox.Stage:
    tmp_path.mkdir(parents=True, exist_ok=True)
    worker = tmp_path / "stand_in_worker.py"
    worker.write_text(STAND_IN)
    sub = tmp_path / "submission"
    sub.mkdir(exist_ok=True)
    (sub / "gd.py").write_text("def step(x):\n    return x\n")
    return sandbox.make_stage(worker, sub)


def _start(layer, tmp_path, cfg, limits=sandbox.Limits()):
    stage = _stage(tmp_path)
    err = open(tmp_path / f"stderr-{uuid.uuid4().hex}.txt", "w+b")
    try:
        proc = sandbox.spawn(layer, stage, [json.dumps(cfg)], limits, err)
    except BaseException:
        err.close()
        stage.close()  # releases its group too
        raise
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        err.seek(0)
        pytest.fail(f"stand-in worker died: rc={proc.returncode} stderr={err.read().decode()[-2000:]}")
    return stage, proc, json.loads(line), err


def _host_procs_with(token: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read()
            with open(f"/proc/{entry}/stat", "rb") as fh:
                state = fh.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if token.encode() in cmdline.split(b"\0") and state not in (b"Z", b"X"):
            found.append(int(entry))
    return found


def _host_worker_pid(proc) -> int:
    """The host pid of the process running the stand-in (below bwrap/setpriv, or proc itself)."""
    table = procfs.table()
    for pid in [proc.pid, *sorted(procfs.descendants(proc.pid, table))]:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                args = fh.read().split(b"\0")
        except OSError:
            continue
        if os.path.basename(args[0]) not in (b"bwrap", b"setpriv", b"env") and any(a.endswith(b"/gdkit_worker/__main__.py") for a in args):
            return pid
    raise AssertionError("worker process not found under the spawned process")


# --------------------------------------------------------------------------- #


def test_report(layer, tmp_path, secret, listener):
    """One worker run per layer; the report answers most questions at once."""
    paths = [str(secret), str(REPO / "data" / "rubric.toml"), str(REPO / "solutions"), str(REPO / "data")]
    # an installed gdkit (even an editable one: hatchling force-includes data/
    # into site-packages) must not show its data/ in the sandbox
    paths += [os.path.join(m, "data") for m in interpreter.current().masks]
    stage, proc, rep, err = _start(layer, tmp_path, {"paths": paths, "port": listener})
    try:
        # uid, really, on the host too (not just inside a namespace)
        host_status = Path(f"/proc/{_host_worker_pid(proc)}/status").read_text()
        host_uids = [int(x) for x in host_status.split("Uid:")[1].split("\n")[0].split()]
        want = os.getuid() if layer == "process" else proc.uid
        assert rep["uid"] == [want] * 4
        assert host_uids == [want] * 4
        assert proc.layer == layer and proc.stage is stage and proc in stage.workers
        if layer == "process":
            assert proc.uid is None and proc.lease is None
        else:
            # a uid and gid of its own, from the pool, that no account has;
            # its one supplementary group is the stage's
            assert _in_pool(want) and want != stage.gid
            with pytest.raises(KeyError):
                pwd.getpwuid(want)
            assert rep["gid"] == [want] * 4
            assert rep["groups"] == [stage.gid]
            # bwrap's /etc/passwd names it; on the host it has no name
            assert rep["whoami"] == ("gdkit" if layer == "bwrap" else None)
            assert int(rep["cap_eff"], 16) == 0
            assert rep["no_new_privs"] == "1"
            if seccomp.active() is not None:
                assert rep["seccomp"] == "2"
                assert rep["unshare_user"] == "EPERM"

        # environment: exactly the documented one
        tmp = str(stage / "tmp")
        expected = {
            "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": tmp, "TMPDIR": tmp,
            "PYTHONDONTWRITEBYTECODE": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            if name in os.environ:
                expected[name] = os.environ[name]
        assert rep["env"] == expected
        assert rep["cwd"] == str(stage / "submission")

        # numpy imports and computes under RLIMIT_AS = 1 GiB
        assert rep["matmul"] == 64.0
        lim = sandbox.Limits()
        assert rep["rlimits"]["RLIMIT_AS"] == [lim.memory] * 2
        assert rep["rlimits"]["RLIMIT_CPU"] == [lim.cpu] * 2
        assert rep["rlimits"]["RLIMIT_FSIZE"] == [lim.fsize] * 2
        assert rep["rlimits"]["RLIMIT_NOFILE"] == [lim.nofile] * 2
        assert rep["rlimits"]["RLIMIT_CORE"] == [0, 0]
        if layer != "process":
            assert rep["rlimits"]["RLIMIT_NPROC"] == [lim.nproc] * 2

        # the memory limit stops a 2 GiB allocation
        assert rep["alloc_2g"] == "MemoryError"

        # scratch space is writable, the submission is not (as 65534)
        assert rep["write_tmp"] == "ok"
        if layer != "process":
            assert rep["write_cwd"] in ("EACCES", "EROFS", "EPERM")

        # secrets
        if layer == "uid":
            assert rep["read"][str(secret)] == "EACCES"
            # the worker reads exactly what "other" may read: the repo's data/
            # here is world-readable (see docs/isolation.md, sandbox.exposed)
            for p in paths[1:4]:
                if rep["exists"][p]:
                    assert (rep["read"][p] == "ok") == _world_readable(Path(p)) or os.path.isdir(p)
        if layer == "bwrap":
            for p in paths:
                assert rep["exists"][p] is False, p  # not even visible
            assert rep["read"][str(secret)] == "ENOENT"

        # network
        if layer == "bwrap":
            assert rep["netdevs"] == ["lo"]  # its own network namespace
        if layer == "bwrap" or (layer == "uid" and seccomp.active() is not None):
            assert rep["connect"] != "ok"  # bwrap: nothing listens on its lo; uid: seccomp
    finally:
        proc.kill()
        err.close()
        stage.close()


def _in_pool(n) -> bool:
    return isinstance(n, int) and sandbox.ID_BASE <= n < sandbox.ID_BASE + sandbox.ID_COUNT


def _world_readable(path: Path) -> bool:
    for d in reversed(path.parents):
        if not os.stat(d).st_mode & stat.S_IXOTH:
            return False
    return bool(os.stat(path).st_mode & stat.S_IROTH)


@pytest.mark.parametrize("hide", [False, True], ids=["orphan", "hidden-orphan"])
def test_kill_takes_setsid_orphans(layer, hide, tmp_path, listener):
    if hide and layer == "process":
        pytest.skip("the process layer cannot find an orphan that left no trace (documented)")
    token = f"gdkit-orphan-{uuid.uuid4().hex}"
    stage, proc, rep, err = _start(layer, tmp_path, {"paths": [], "port": listener, "orphan": token, "hide": hide})
    try:
        deadline = time.monotonic() + 5
        while not _host_procs_with(token) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _host_procs_with(token), "the orphan never started"
        assert proc.poll() is None
        t0 = time.monotonic()
        proc.kill()
        assert time.monotonic() - t0 < 5
        assert proc.returncode is not None and proc.killed  # reaped
        assert proc.stdin.closed and proc.stdout.closed and proc not in stage.workers
        deadline = time.monotonic() + 3
        while _host_procs_with(token) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _host_procs_with(token) == []
        proc.kill()  # twice is fine
    finally:
        proc.kill()
        err.close()
        stage.close()


def test_kill_spares_a_sibling_on_the_same_stage(layer, tmp_path):
    """Sessions may share a stage: killing one worker leaves the other alive."""
    stage = _stage(tmp_path)
    procs = []
    try:
        for _ in range(2):
            p = sandbox.spawn(layer, stage, [json.dumps({"paths": [], "port": 9})], sandbox.Limits(), subprocess.DEVNULL)
            assert p.stdout.readline()
            procs.append(p)
        procs[0].kill()
        assert procs[0].returncode is not None
        assert procs[1].poll() is None
        procs[1].stdin.close()
        assert procs[1].wait(timeout=10) == 0
    finally:
        for p in procs:
            p.kill()
        stage.close()


def test_closing_a_stage_kills_its_workers(layer, tmp_path):
    """Stage.close() first kills the workers still running on it (and releases their uids): no
    process may keep the stage's group once it can be leased again."""
    stage = _stage(tmp_path)
    proc = sandbox.spawn(layer, stage, [json.dumps({"paths": [], "port": 9})], sandbox.Limits(), subprocess.DEVNULL)
    try:
        assert proc.stdout.readline()
        gid, uid = stage.gid, proc.uid
        stage.close()
        assert proc.killed and proc.returncode is not None
        assert not stage.path.exists() and stage.closed and stage.gid is None
        if gid is not None:
            assert not os.path.exists(os.path.join(leases.lock_dir(), str(gid)))
            assert _wait_for(lambda: leases.drain() or not os.path.exists(os.path.join(leases.lock_dir(), str(uid))), 10)
        stage.close()  # twice is fine
    finally:
        proc.kill()
        stage.close()


def test_kill_never_raises_and_spawn_says_why_a_layer_is_unavailable(tmp_path, monkeypatch):
    stage = _stage(tmp_path)
    try:
        proc = sandbox.spawn("process", stage, [json.dumps({"paths": [], "port": 9})], sandbox.Limits(),
                             subprocess.DEVNULL)
        assert proc.stdout.readline()
        real_kill = type(sandbox.layer("process")).kill

        def broken(self, worker):
            raise OSError("no /proc here")

        monkeypatch.setattr(type(sandbox.layer("process")), "kill", broken)
        with pytest.warns(RuntimeWarning, match="no /proc here"):
            proc.kill()  # does not raise
        assert proc.killed and proc not in stage.workers
        monkeypatch.setattr(type(sandbox.layer("process")), "kill", real_kill)
        proc.popen.kill()
        proc.popen.wait()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            proc.kill()  # killed already: nothing happens

        monkeypatch.setattr(sandbox.layer("bwrap"), "unavailable", lambda: "bubblewrap is not installed")
        with pytest.raises(RuntimeError, match="'bwrap' is unavailable: bubblewrap is not installed"):
            sandbox.spawn("bwrap", stage, [], sandbox.Limits(), subprocess.DEVNULL)
        with pytest.raises(ValueError, match="unknown isolation layer"):
            sandbox.spawn("docker", stage, [], sandbox.Limits(), subprocess.DEVNULL)
    finally:
        stage.close()
    with pytest.raises(RuntimeError, match="make_stage"):
        sandbox.spawn("process", stage, [], sandbox.Limits(), subprocess.DEVNULL)  # a closed stage


@pytest.mark.parametrize("layer_name", ["uid", "bwrap"])
def test_nproc_stops_a_fork_bomb(layer_name, tmp_path, monkeypatch):
    _layer_setup(layer_name, monkeypatch)
    token = f"gdkit-forks-{uuid.uuid4().hex}"
    lim = sandbox.Limits()
    stage, proc, rep, err = _start(layer_name, tmp_path, {"paths": [], "port": 9, "forks": lim.nproc + 16,
                                                          "token": token})
    try:
        assert 0 < rep["forked"] < lim.nproc
        assert len(_host_procs_containing(token)) == rep["forked"] + 1
        proc.kill()
        deadline = time.monotonic() + 3
        while _host_procs_containing(token) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _host_procs_containing(token) == []
    finally:
        proc.kill()
        err.close()
        stage.close()


def _host_procs_containing(token: str) -> list[int]:
    """Non-zombie processes with `token` somewhere in their command line (bwrap/setpriv excluded)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                args = fh.read().split(b"\0")
            with open(f"/proc/{entry}/stat", "rb") as fh:
                state = fh.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if state in (b"Z", b"X") or os.path.basename(args[0]) in (b"bwrap", b"setpriv", b"env"):
            continue
        if any(token.encode() in a for a in args):
            found.append(int(entry))
    return found


def test_uid_sweep_spares_bwrap_workers_of_another_grader(tmp_path, monkeypatch):
    """The uid layer's kill sweeps the worker's own uid: a bwrap worker beside it survives."""
    _layer_setup("bwrap", monkeypatch)
    cfg = json.dumps({"paths": [], "port": 9})
    stage = _stage(tmp_path)
    boxed = sandbox.spawn("bwrap", stage, [cfg], sandbox.Limits(), subprocess.DEVNULL)
    try:
        assert boxed.stdout.readline()
        _layer_setup("uid", monkeypatch)
        token = f"gdkit-orphan-{uuid.uuid4().hex}"
        stage2, proc, rep, err = _start("uid", tmp_path, {"paths": [], "port": 9, "orphan": token, "hide": True})
        try:
            deadline = time.monotonic() + 5
            while not _host_procs_with(token) and time.monotonic() < deadline:
                time.sleep(0.02)
            proc.kill()
            assert _host_procs_with(token) == []
            assert boxed.poll() is None  # the bwrap worker lives on
        finally:
            proc.kill()
            err.close()
            stage2.close()
        boxed.stdin.close()
        assert boxed.wait(timeout=10) == 0
    finally:
        boxed.kill()
        stage.close()


def test_worker_exit_status_and_protocol_pipes(layer, tmp_path):
    """stdin/stdout are pipes; closing stdin lets the worker finish normally."""
    stage, proc, rep, err = _start(layer, tmp_path, {"paths": [], "port": 9})
    try:
        proc.stdin.close()
        assert proc.wait(timeout=10) == 0
        assert proc.poll() == 0 and proc.returncode == 0
    finally:
        proc.kill()
        err.close()
        stage.close()


def test_bwrap_with_debian_python(tmp_path, monkeypatch):
    """A worker interpreter under /usr (apt's numpy goes through /etc/alternatives)."""
    if not _debian_python_has_numpy():
        pytest.skip(f"{DEBIAN_PYTHON} has no numpy (apt-get install python3-numpy)")
    monkeypatch.setenv("GDKIT_WORKER_PYTHON", DEBIAN_PYTHON)
    _layer_setup("bwrap", monkeypatch)
    stage, proc, rep, err = _start("bwrap", tmp_path, {"paths": [], "port": 9})
    try:
        assert rep["matmul"] == 64.0 and rep["uid"] == [proc.uid] * 4
    finally:
        proc.kill()
        err.close()
        stage.close()


def test_bwrap_with_venv(tmp_path, monkeypatch):
    """A venv worker interpreter: the venv dir and sys.base_prefix are both bound."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)],
                   check=True, capture_output=True, timeout=60)
    # a regular install of gdkit in the worker's Python: its data/ must be masked
    site = venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    installed = site / "autograder" / "data" / "worked_values.toml"
    installed.parent.mkdir(parents=True)
    installed.write_text("answer = 42\n")
    os.chmod(installed.parent.parent, 0o755)
    # and a grader directory that happens to lie inside the bound prefix (a
    # checkout's solutions/ next to its venv, say): masked too
    solutions = venv / "share" / "solutions"
    solutions.mkdir(parents=True)
    (solutions / "gd.py").write_text("def step(x):\n    return x\n")
    monkeypatch.setattr(exposure, "grader_dirs", lambda: [str(solutions)])
    monkeypatch.setenv("GDKIT_WORKER_PYTHON", str(venv / "bin" / "python"))
    _layer_setup("bwrap", monkeypatch)
    assert str(solutions) in bwrap.view(interpreter.current())[2]
    assert sandbox.exposed("bwrap") == []
    paths = [str(site), str(installed), str(solutions / "gd.py")]
    stage, proc, rep, err = _start("bwrap", tmp_path, {"paths": paths, "port": 9})
    try:
        assert rep["exists"] == {str(site): True, str(installed): False, str(solutions / "gd.py"): False}
        assert rep["prefix"] == str(venv)
        assert rep["matmul"] == 64.0 and rep["uid"] == [proc.uid] * 4
    finally:
        proc.kill()
        err.close()
        stage.close()


def test_cpu_limit(tmp_path, monkeypatch):
    """RLIMIT_CPU ends a spinning worker (process layer: the others share Limits.setter)."""
    _layer_setup("process", monkeypatch)
    worker = tmp_path / "spin.py"
    worker.write_text("while True:\n    pass\n")
    (tmp_path / "sub").mkdir()
    with sandbox.make_stage(worker, tmp_path / "sub") as stage:
        proc = sandbox.spawn("process", stage, [], sandbox.Limits(cpu=1), subprocess.DEVNULL)
        try:
            rc = proc.wait(timeout=10)
        finally:
            proc.kill()
        assert rc in (-9, -24)  # SIGXCPU at the soft limit (= hard limit: SIGKILL)


def test_make_stage(tmp_path):
    worker = tmp_path / "w.py"
    worker.write_text("print('hi')\n")
    sub = tmp_path / "sub"
    (sub / "pkg").mkdir(parents=True)
    (sub / "gd.py").write_text("x = 1\n")
    (sub / "pkg" / "m.py").write_text("y = 2\n")
    (sub / "pkg" / "__pycache__").mkdir()
    (sub / "pkg" / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"\0")
    os.symlink("/etc/shadow", sub / "shadow")
    os.symlink(sub / "pkg", sub / "pkglink")
    stage = sandbox.make_stage(worker, sub)
    try:
        if os.geteuid() == 0:
            # root:<the stage's own group>, nothing for "other"
            gid = stage.gid
            assert _in_pool(gid) and gid != os.getgid()
            dmode, fmode, tmode = 0o750, 0o640, 0o2770
        else:
            assert stage.gid is None
            gid, dmode, fmode, tmode = os.getgid(), 0o755, 0o644, 0o1777
        for p in [stage.path, *stage.path.rglob("*")]:
            st = os.stat(p)
            assert (st.st_uid, st.st_gid) == (os.geteuid(), gid), p
            want = tmode if p == stage / "tmp" else dmode if p.is_dir() else fmode
            assert stat.S_IMODE(st.st_mode) == want, p
        assert (stage / "gdkit_worker" / "__main__.py").read_text() == "print('hi')\n"
        got = sorted(str(p.relative_to(stage / "submission")) for p in (stage / "submission").rglob("*"))
        assert got == ["gd.py", "pkg", "pkg/m.py"]
        assert not any(p.is_symlink() for p in stage.path.rglob("*"))
        assert stage.left_out == ["pkglink (a symbolic link)", "shadow (a symbolic link)"]
        assert os.fspath(stage) == str(stage.path) and Path(stage) / "tmp" == stage / "tmp"
    finally:
        stage.close()
    assert not stage.path.exists()
    if gid != os.getgid():
        assert stage.gid is None
        assert not os.path.exists(os.path.join(leases.lock_dir(), str(gid)))  # released


def test_make_stage_copies_the_worker_package(tmp_path):
    """A folder as worker source: all its *.py go into gdkit_worker/ (the real worker package)."""
    from autograder import worker

    import importlib.util
    import sys

    (tmp_path / "sub").mkdir()
    with sandbox.make_stage(worker.SOURCE_DIR, tmp_path / "sub") as stage:
        want = sorted(p.name for p in worker.SOURCE_DIR.glob("*.py"))
        assert sorted(os.listdir(stage / "gdkit_worker")) == sorted(want + ["__pycache__"])
        assert "__main__.py" in want
        # a hash-checked pyc per module but the script (__main__ is never imported), valid for
        # the source beside it: the worker's import takes it instead of compiling
        tag = sys.implementation.cache_tag
        pycs = sorted(os.listdir(stage / "gdkit_worker" / "__pycache__"))
        assert pycs == sorted(f"{n[:-3]}.{tag}.pyc" for n in want if n != "__main__.py")
        for name in pycs:
            data = (stage / "gdkit_worker" / "__pycache__" / name).read_bytes()
            source = (stage / "gdkit_worker" / (name.split(".")[0] + ".py")).read_bytes()
            assert data[:4] == importlib.util.MAGIC_NUMBER
            assert int.from_bytes(data[4:8], "little") == 0b11, "not a checked-hash pyc"
            assert data[8:16] == importlib.util.source_hash(source)


def test_unavailable_reasons_are_one_line():
    for name in sandbox.LAYERS:
        reason = sandbox.unavailable(name)
        assert reason is None or (reason and "\n" not in reason)
        print(f"{name}: {'available' if reason is None else reason}")
    assert sandbox.strongest() in sandbox.LAYERS
    assert sandbox.unavailable(sandbox.strongest()) is None
    with pytest.raises(ValueError):
        sandbox.unavailable("docker")
    assert sandbox.LAYERS == ("process", "uid", "bwrap")
    assert all(isinstance(sandbox.layer(n), sandbox.Layer) and sandbox.layer(n).name == n for n in sandbox.LAYERS)


def test_seccomp_filter_shape():
    bpf = seccomp.program()
    if bpf is None:
        pytest.skip("no seccomp filter on this architecture")
    assert len(bpf) % 8 == 0 and 0 < len(bpf) // 8 < 4096


# --------------------------------------------------------------------------- #
# one uid per worker: workers of different submissions at once
# --------------------------------------------------------------------------- #

def _wait_for(predicate, timeout=5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.mark.parametrize("layer_name", ["uid", "bwrap"])
def test_two_submissions_at_once(layer_name, tmp_path, monkeypatch):
    """Two workers of two stages run at once: neither reads the other's stage, and killing one
    (with its hidden, escaped orphan) leaves the other and the other's orphan alive."""
    _layer_setup(layer_name, monkeypatch)
    stages = [_stage(tmp_path / "a"), _stage(tmp_path / "b")]
    tokens = [f"gdkit-orphan-{uuid.uuid4().hex}" for _ in stages]
    procs = []
    try:
        reps = []
        for i, stage in enumerate(stages):
            other = stages[1 - i]
            paths = [str(other), str(other / "gdkit_worker" / "__main__.py"), str(other / "submission" / "gd.py"),
                     str(other / "tmp" / "scratch.txt"), str(stage / "submission" / "gd.py")]
            cfg = {"paths": paths, "port": 9, "orphan": tokens[i], "hide": True}
            proc = sandbox.spawn(layer_name, stage, [json.dumps(cfg)], sandbox.Limits(), subprocess.DEVNULL)
            procs.append(proc)
            line = proc.stdout.readline()
            assert line, f"worker {i} died: rc={proc.poll()}"
            reps.append(json.loads(line))
        uids = [p.uid for p in procs]
        gids = [s.gid for s in stages]
        ids = uids + gids
        assert all(_in_pool(n) for n in ids) and len(set(ids)) == 4, ids
        for i, rep in enumerate(reps):
            assert rep["uid"] == [uids[i]] * 4 and rep["gid"] == [uids[i]] * 4
            assert rep["groups"] == [gids[i]]
            other = stages[1 - i]
            own = str(stages[i] / "submission" / "gd.py")
            assert rep["read"][own] == "ok"
            for p, result in rep["read"].items():
                if p == own:
                    continue
                if layer_name == "uid":
                    assert result == "EACCES", (p, result)  # root:<other group> 0750
                else:
                    assert result == "ENOENT" and not rep["exists"][p], (p, result)  # not in the sandbox
            st = os.stat(other)
            assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, gids[1 - i], 0o750)
        # the uid layer's worker wrote its scratch file into the host's <stage>/tmp
        if layer_name == "uid":
            assert (stages[0] / "tmp" / "scratch.txt").exists()

        assert _wait_for(lambda: all(_host_procs_with(t) for t in tokens)), "the orphans never started"
        orphan_b = _host_procs_with(tokens[1])
        procs[0].kill()
        assert procs[0].returncode is not None
        assert _wait_for(lambda: not _host_procs_with(tokens[0]), 3), "worker a's orphan survived"
        assert procs[1].poll() is None
        assert _host_procs_with(tokens[1]) == orphan_b  # worker b's own orphan is untouched
        # worker b still answers: it ends normally when its stdin closes
        procs[1].stdin.close()
        assert procs[1].wait(timeout=10) == 0
        procs[1].kill()
        assert _wait_for(lambda: not _host_procs_with(tokens[1]), 3), "worker b's orphan survived"
    finally:
        for p in procs:
            p.kill()
        for s in stages:
            s.close()


GRADER = r'''
import json, subprocess, sys
from pathlib import Path
from autograder import sandbox
layer, d = sys.argv[1], Path(sys.argv[2])
(d / "w.py").write_text("import os, sys\nprint(os.getuid(), flush=True)\nsys.stdin.read()\n")
(d / "sub").mkdir()
stage = sandbox.make_stage(d / "w.py", d / "sub")
proc = sandbox.spawn(layer, stage, [], sandbox.Limits(), subprocess.DEVNULL)
worker_says = proc.stdout.readline().decode().strip()
print(json.dumps({"uid": proc.uid, "says": worker_says, "gid": stage.gid, "stage": str(stage)}), flush=True)
sys.stdin.readline()  # the test has killed its own worker
alive = proc.poll() is None
proc.stdin.close()
rc = proc.wait(timeout=10)
proc.kill()
stage.close()
print(json.dumps({"alive": alive, "rc": rc}), flush=True)
'''


@pytest.mark.parametrize("layer_name", ["uid", "bwrap"])
def test_two_graders_at_once(layer_name, tmp_path, monkeypatch):
    """Another grader process on the machine leases other ids; our kill sweeps do not touch it."""
    _layer_setup(layer_name, monkeypatch)
    (tmp_path / "other").mkdir()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    other = subprocess.Popen([sys.executable, "-c", GRADER, layer_name, str(tmp_path / "other")],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=str(REPO))
    try:
        theirs = json.loads(other.stdout.readline())
        token = f"gdkit-orphan-{uuid.uuid4().hex}"
        stage, proc, rep, err = _start(layer_name, tmp_path / "ours",
                                       {"paths": [theirs["stage"] + "/w.py"], "port": 9, "orphan": token,
                                        "hide": True})
        try:
            ours = proc.uid
            assert theirs["says"] == str(theirs["uid"])
            assert len({ours, stage.gid, theirs["uid"], theirs["gid"]}) == 4
            assert rep["read"][theirs["stage"] + "/w.py"] in ("EACCES", "ENOENT")
            assert _wait_for(lambda: _host_procs_with(token))
            proc.kill()
            assert _wait_for(lambda: not _host_procs_with(token), 3)
        finally:
            proc.kill()
            err.close()
            stage.close()
        other.stdin.write(b"go\n")
        other.stdin.flush()
        assert json.loads(other.stdout.readline()) == {"alive": True, "rc": 0}
        assert other.wait(timeout=30) == 0
    finally:
        if other.poll() is None:
            other.kill()
            other.wait()


def test_nproc_is_per_worker(tmp_path, monkeypatch):
    """A fork bomb fills its own worker's RLIMIT_NPROC only: a worker beside it still forks."""
    _layer_setup("uid", monkeypatch)
    lim = sandbox.Limits()
    token = f"gdkit-forks-{uuid.uuid4().hex}"
    bomb = _start("uid", tmp_path / "bomb", {"paths": [], "port": 9, "forks": lim.nproc + 16, "token": token})
    try:
        assert 0 < bomb[2]["forked"] < lim.nproc
        calm = _start("uid", tmp_path / "calm", {"paths": [], "port": 9, "forks": 10})
        try:
            assert calm[2]["forked"] == 10
        finally:
            calm[1].kill()
            calm[3].close()
            calm[0].close()
    finally:
        bomb[1].kill()
        bomb[3].close()
        bomb[0].close()


def test_killed_workers_id_is_released_once_reaped(tmp_path, monkeypatch):
    """kill releases the worker's uid at once, or (zombies left for init to reap) soon after."""
    _layer_setup("uid", monkeypatch)
    lock_dir = leases.lock_dir()
    stage, proc, rep, err = _start("uid", tmp_path, {"paths": [], "port": 9, "forks": 20})
    uid, gid = proc.uid, stage.gid
    try:
        assert os.path.exists(os.path.join(lock_dir, str(uid)))
        proc.kill()
        assert not proc.lease.held or uid in leases.draining()
        # released as soon as no process of that uid is left, zombies included
        assert _wait_for(lambda: leases.drain() or not os.path.exists(os.path.join(lock_dir, str(uid))), 10)
        assert not proc.lease.held and procfs.owners({uid}) == set()
    finally:
        proc.kill()
        err.close()
        stage.close()
    assert not os.path.exists(os.path.join(lock_dir, str(gid)))


# --------------------------------------------------------------------------- #
# leases
# --------------------------------------------------------------------------- #

HOLDER = r'''
import os, subprocess, sys, time
from autograder.sandbox import leases
d, a, b, stage = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
sl = leases.acquire("stage", stage, ids=[a], directory=d)
wl = leases.acquire("worker", stage, ids=[b], directory=d)
os.chown(stage, 0, a)
os.chmod(stage, 0o750)
def demote():
    os.setgroups([a]); os.setresgid(b, b, b); os.setresuid(b, b, b)
# a worker's escaped orphan: survives this grader
orphan = subprocess.Popen(["/bin/sleep", "300"], preexec_fn=demote, start_new_session=True)
print(sl.id, wl.id, orphan.pid, flush=True)
time.sleep(300)
'''


@pytest.fixture
def lease_dir(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("leases need root")
    d = tmp_path / "ids"
    d.mkdir(mode=0o700)
    return str(d)


def test_leases_are_exclusive_across_processes_and_survive_a_crash(tmp_path, lease_dir):
    a, b, c = (sandbox.ID_BASE + sandbox.ID_COUNT - k for k in (7, 6, 5))
    stage = tmp_path / "gdkit-stage-crashed"
    stage.mkdir()
    (stage / "gd.py").write_text("secret = 1\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, lease_dir, str(a), str(b), str(stage)],
                              stdout=subprocess.PIPE, env=env)
    orphan = None
    try:
        got_a, got_b, orphan = map(int, holder.stdout.readline().split())
        assert (got_a, got_b) == (a, b)
        # held by another process: we get the next free one, and a second taker in this process
        # does not get ours
        mine = leases.acquire("worker", ids=[a, b, c], directory=lease_dir)
        assert mine.id == c
        assert leases.try_lock(c, lease_dir, "worker", None) is None
        with pytest.raises(RuntimeError):
            leases.acquire("worker", ids=[a, b, c], directory=lease_dir)
        mine.release()
        assert not os.path.exists(os.path.join(lease_dir, str(c)))
        # the grader dies: the kernel drops its locks; its stage and its worker's orphan stay
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        assert procfs.alive(orphan)
        assert stage.exists()
        # whoever leases the stage's id next first kills what still has that id (the orphan,
        # a member of the group) and removes the stage the record names
        again = leases.acquire("stage", ids=[a], directory=lease_dir)
        assert again.id == a
        assert _wait_for(lambda: not procfs.alive(orphan), 3)
        assert not stage.exists()
        again.release()
        worker_again = leases.acquire("worker", ids=[b], directory=lease_dir)
        assert worker_again.id == b
        worker_again.release()
        assert os.listdir(lease_dir) == []
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        if orphan is not None and procfs.alive(orphan):
            os.kill(orphan, signal.SIGKILL)


def test_leases_skip_ids_that_accounts_use(lease_dir, monkeypatch):
    taken = sandbox.ID_BASE + 3
    real_getpwuid = pwd.getpwuid

    def getpwuid(n):
        if n == taken:
            return real_getpwuid(0)
        return real_getpwuid(n)

    monkeypatch.setattr(leases.pwd, "getpwuid", getpwuid)
    lease = leases.acquire("worker", ids=[taken, taken + 1], directory=lease_dir)
    try:
        assert lease.id == taken + 1
    finally:
        lease.release()


def test_lock_dir_is_root_only():
    if os.geteuid() != 0:
        pytest.skip("leases need root")
    for d in (os.path.dirname(leases.lock_dir()), leases.lock_dir()):
        st = os.lstat(d)
        assert stat.S_ISDIR(st.st_mode) and st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o700, d


# --------------------------------------------------------------------------- #
# exposed(): what of the grader a worker can read
# --------------------------------------------------------------------------- #

def test_grader_dirs_is_the_one_list(tmp_path):
    """One list of the grader's folders: the sandbox's. The worker's guard gets exactly it (the
    session passes each as --deny), and it holds the repository's docs/ and .git too."""
    dirs = sandbox.grader_dirs()
    for name in ("autograder", "solutions", "tests", "data", "docs", ".git"):
        if (REPO / name).is_dir():
            assert str(REPO / name) in dirs, name
    assert set(dirs) <= set(exposure.candidates())
    from autograder.engine import session

    (tmp_path / "sub").mkdir()
    with session.Session(tmp_path / "sub", layer="process") as s:
        s.launch()
        args = Path(f"/proc/{s.proc.pid}/cmdline").read_bytes().split(b"\0")
        denied = [args[i + 1].decode() for i, a in enumerate(args) if a == b"--deny"]
        assert denied == dirs


def test_exposed_matches_what_a_uid_worker_reads(tmp_path, monkeypatch):
    """exposed("uid") is exactly the grader directories in which a real uid worker reads a file."""
    _layer_setup("uid", monkeypatch)
    candidates = exposure.candidates()
    assert str(REPO / "autograder") in candidates and str(REPO / "solutions") in candidates
    stage, proc, rep, err = _start("uid", tmp_path, {"paths": [], "port": 9, "walk": candidates})
    try:
        assert sorted(sandbox.exposed("uid")) == sorted(p for p in candidates if rep["walk"][p])
    finally:
        proc.kill()
        err.close()
        stage.close()
    assert sandbox.exposed("process") == candidates
    assert sandbox.exposed("bwrap") == []
    with pytest.raises(ValueError):
        sandbox.exposed("docker")


@pytest.fixture
def checkout():
    """A fake grader checkout in a directory that "other" can traverse (unlike pytest's tmp_path)."""
    d = Path(tempfile.mkdtemp(prefix="gdkit-test-checkout-", dir="/tmp"))
    os.chmod(d, 0o755)
    for sub in ("solutions", "data", "tests/deep"):
        (d / sub).mkdir(parents=True)
    (d / "solutions" / "gd.py").write_text("def step(x):\n    return x\n")
    (d / "data" / "rubric.toml").write_text("points = 1\n")
    (d / "tests" / "deep" / "case.txt").write_text("42\n")
    for p in d.rglob("*"):
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    yield d
    shutil.rmtree(d)


def test_exposed_follows_the_mode_bits(checkout, monkeypatch):
    dirs = [str(checkout / n) for n in ("solutions", "data", "tests")]
    monkeypatch.setattr(exposure, "candidates", lambda: dirs)
    assert sandbox.exposed("uid") == dirs
    os.chmod(checkout / "solutions" / "gd.py", 0o640)  # the file: no read for other
    os.chmod(checkout / "data", 0o750)  # the directory: no traversal for other
    os.chmod(checkout / "tests" / "deep", 0o711)  # traversal without listing: names can be guessed
    assert sandbox.exposed("uid") == [dirs[2]]
    subprocess.run(["chmod", "-R", "o-rwx", str(checkout)], check=True)  # what docs/isolation.md says
    assert sandbox.exposed("uid") == []
    assert sandbox.exposed("process") == dirs


def test_exposed_as_a_real_uid_worker_sees_it(checkout, tmp_path, monkeypatch):
    _layer_setup("uid", monkeypatch)
    dirs = [str(checkout / n) for n in ("solutions", "data", "tests")]
    monkeypatch.setattr(exposure, "candidates", lambda: dirs)
    os.chmod(checkout / "data", 0o750)
    os.chmod(checkout / "solutions" / "gd.py", 0o600)
    stage, proc, rep, err = _start("uid", tmp_path, {"paths": [], "port": 9, "walk": dirs})
    try:
        assert rep["walk"] == {dirs[0]: False, dirs[1]: False, dirs[2]: True}
        assert sandbox.exposed("uid") == [dirs[2]]
    finally:
        proc.kill()
        err.close()
        stage.close()


def test_uid_layers_need_a_stage_of_make_stage(tmp_path, monkeypatch):
    _layer_setup("uid", monkeypatch)
    fake = tmp_path / "fake-stage"
    (fake / "submission").mkdir(parents=True)
    (fake / "worker.py").write_text("print(1)\n")
    for name in sandbox.LAYERS:
        with pytest.raises(RuntimeError, match="make_stage"):
            sandbox.layer(name).launch(fake, [], sandbox.Limits(), subprocess.DEVNULL)


def test_stage_without_a_mappable_pool(tmp_path, monkeypatch):
    """As root in a user namespace that does not map the pool (a rootless container): the stage
    gets no group and the old modes, the process layer works, the uid layer says why not."""
    if os.geteuid() != 0:
        pytest.skip("only root leases groups")
    with monkeypatch.context() as m:
        m.setattr(leases, "ids_mappable", lambda: "/proc/self/uid_map does not map the worker ids")
        stage = _stage(tmp_path)
    try:
        assert stage.gid is None
        assert stat.S_IMODE(os.stat(stage).st_mode) == 0o755
        proc = sandbox.spawn("process", stage, [json.dumps({"paths": [], "port": 9})], sandbox.Limits(),
                             subprocess.DEVNULL)
        try:
            assert proc.stdout.readline()
        finally:
            proc.kill()
        for name in ("uid", "bwrap"):
            with pytest.raises(RuntimeError, match="make_stage.* has no group"):
                sandbox.layer(name).launch(stage, [], sandbox.Limits(), subprocess.DEVNULL)
    finally:
        stage.close()


def test_restarted_worker_takes_over_the_scratch_files(tmp_path, monkeypatch):
    """uid layer: a worker restarted on the same stage (another uid) can read, rewrite and delete
    what its predecessor left in the host's <stage>/tmp; no one outside the stage can."""
    _layer_setup("uid", monkeypatch)
    script = tmp_path / "w.py"
    script.write_text(
        "import os, sys\n"
        "d = os.environ['TMPDIR']\n"
        "p, sub = os.path.join(d, 'cache.txt'), os.path.join(d, 'cache')\n"
        "if sys.argv[1] == 'first':\n"
        "    open(p, 'w').write('one')\n"
        "    os.mkdir(sub)\n"
        "    open(os.path.join(sub, 'x'), 'w').write('x')\n"
        "    print('ok')\n"
        "else:\n"
        "    before = open(p).read()\n"
        "    open(p, 'w').write('two')\n"
        "    os.unlink(os.path.join(sub, 'x'))\n"
        "    os.rmdir(sub)\n"
        "    os.unlink(p)\n"
        "    print(before)\n")
    (tmp_path / "sub").mkdir()
    stage = sandbox.make_stage(script, tmp_path / "sub")
    try:
        uids = []
        for arg in ("first", "second"):
            err = tempfile.TemporaryFile()
            proc = sandbox.spawn("uid", stage, [arg], sandbox.Limits(), err)
            uids.append(proc.uid)
            out = proc.stdout.read().decode().strip()
            rc = proc.wait(timeout=10)
            proc.kill()
            err.seek(0)
            assert rc == 0, err.read().decode()[-2000:]
            assert out == ("ok" if arg == "first" else "one")
            if arg == "first":
                st = os.stat(stage / "tmp" / "cache.txt")
                assert (st.st_uid, st.st_gid) == (uids[0], stage.gid)
                assert stat.S_IMODE(st.st_mode) == 0o660
        assert uids[0] != uids[1]
        assert os.listdir(stage / "tmp") == []
    finally:
        stage.close()


# --------------------------------------------------------------------------- #
# availability: cheap, and still right
# --------------------------------------------------------------------------- #

def _fresh_probe(monkeypatch, name: str):
    """Forget this process's cached answers (for `name`), so the next unavailable() probes again."""
    from autograder.sandbox import base

    monkeypatch.setattr(base, "_cache", {})
    monkeypatch.setattr(interpreter, "_cache", {})
    return sandbox.layer(name)


def test_probing_costs_less_than_a_worker_that_imports_numpy(monkeypatch):
    """The old probe started a worker that imported numpy (~0.15-0.3 s per layer) before every
    grade. Now: static checks and one trial through the real spawn path that only runs `id` and
    `python -V`, so probing the strongest layer costs less than one such numpy import."""
    name = sandbox.strongest()
    layer = _fresh_probe(monkeypatch, name)
    interpreter.current()  # the interpreter query is the same either way
    probes, imports = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        assert layer.probe() is None
        probes.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        subprocess.run([interpreter.current().exe, "-I", "-c", "import numpy"], check=True,
                       env={"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1"})
        imports.append(time.perf_counter() - t0)
    print(f"probe of {name}: {min(probes) * 1e3:.0f} ms; python -I -c 'import numpy': {min(imports) * 1e3:.0f} ms")
    assert min(probes) < min(imports)
    # and once per process: later calls do not probe again
    probes = []
    monkeypatch.setattr(layer, "probe", lambda: probes.append(name))
    _fresh_probe(monkeypatch, name)
    for _ in range(100):
        assert sandbox.unavailable(name) is None and sandbox.strongest() == name
    assert probes == [name]


def _venv(path: Path, *, system_site: bool) -> Path:
    args = [DEBIAN_PYTHON if Path(DEBIAN_PYTHON).exists() else sys.executable, "-m", "venv", "--without-pip"]
    subprocess.run([*args, *(["--system-site-packages"] if system_site else []), str(path)],
                   check=True, capture_output=True, timeout=120)
    return path / "bin" / "python"


@pytest.fixture
def open_dir():
    """A folder that "other" can traverse (pytest's tmp_path is under a 0700 folder)."""
    d = Path(tempfile.mkdtemp(prefix="gdkit-test-probe-", dir="/tmp"))
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d)


def test_a_layer_whose_worker_cannot_find_numpy_is_unavailable(open_dir, monkeypatch):
    python = _venv(open_dir / "bare", system_site=False)  # no numpy in it
    monkeypatch.setenv("GDKIT_WORKER_PYTHON", str(python))
    for name in sandbox.LAYERS:
        reason = _fresh_probe(monkeypatch, name).unavailable()
        assert reason is not None and ("numpy cannot be imported" in reason or "needs root" in reason), reason
    with pytest.raises(RuntimeError, match="no isolation layer works here: numpy cannot be imported"):
        sandbox.strongest()


def test_a_layer_whose_worker_uids_cannot_read_numpy_is_unavailable(open_dir, monkeypatch):
    """numpy is found, but its files are 0600 root: the process layer works, the layers that run
    as a worker uid must not be chosen."""
    if os.geteuid() != 0:
        pytest.skip("the uid layers need root")
    python = _venv(open_dir / "private", system_site=True)
    site = next((open_dir / "private" / "lib").glob("python3*/site-packages"))
    (site / "numpy").mkdir()
    (site / "numpy" / "__init__.py").write_text("")
    os.chmod(site / "numpy" / "__init__.py", 0o600)
    monkeypatch.setenv("GDKIT_WORKER_PYTHON", str(python))
    assert interpreter.current().numpy == str(site / "numpy" / "__init__.py")
    assert _fresh_probe(monkeypatch, "process").unavailable() is None
    for name in ("uid", "bwrap"):
        reason = _fresh_probe(monkeypatch, name).unavailable()
        if name == "bwrap" and reason and "not found" in reason:
            continue  # no bubblewrap here
        assert reason and "cannot read numpy" in reason and "0600" in reason, reason
    assert sandbox.strongest() == "process"


def test_a_bwrap_that_cannot_make_its_sandbox_is_unavailable(open_dir, monkeypatch):
    """bwrap being installed is not enough: the trial runs the real command (a container without
    the right to make namespaces refuses it), and its reason is bwrap's own message."""
    _layer_setup("bwrap", monkeypatch)
    fake = open_dir / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    os.chmod(fake, 0o755)
    real_tool = bwrap.tool
    monkeypatch.setattr(bwrap, "tool", lambda name: str(fake) if name == "bwrap" else real_tool(name))
    reason = _fresh_probe(monkeypatch, "bwrap").unavailable()
    assert reason and "No permissions to create new namespace" in reason, reason
    assert "\n" not in reason
    assert sandbox.strongest() != "bwrap"
