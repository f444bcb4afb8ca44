"""Tests of staging: what of a submission enters a stage, and removing a stage, whatever is in it.

The class of problem: a hostile or careless submission (or a worker writing in its tmp/) must
neither stop the grader (a RecursionError, a copy of gigabytes outside every timeout) nor leave
anything behind, in any layer. Only Python files and small data files are copied, within bounds
that the tests below exercise one by one; the stage records what it left out, for the report.
"""
from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pytest

from autograder import sandbox
from autograder.sandbox import tree

from test_isolation import DEBIAN_PYTHON, _layer_setup

REPO = Path(__file__).resolve().parents[1]
DEPTH = 1100  # deeper than Python's recursion limit


def _deep(top: Path, depth: int, leaf: str = "m.py", text: str = "x = 1\n") -> None:
    """top/d/d/.../d (depth folders) with `leaf` in every folder, made through fds (no long paths)."""
    top.mkdir(parents=True, exist_ok=True)
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            with open(os.open(leaf, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as fh:
                fh.write(text)
            os.mkdir("d", dir_fd=fd)
            nxt = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = nxt
    finally:
        os.close(fd)


def _sparse(path: Path, size: int) -> None:
    with open(path, "wb") as fh:
        fh.truncate(size)


def _files(stage) -> list[str]:
    root = stage / "submission"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture
def worker_script(tmp_path):
    script = tmp_path / "w.py"
    script.write_text("print('hi')\n")
    return script


@pytest.fixture
def submission(tmp_path):
    sub = tmp_path / "submission"
    sub.mkdir()
    (sub / "gd.py").write_text("def step(x):\n    return x\n")
    yield sub
    assert tree.remove_tree(sub)  # pytest's own clean-up would recurse


# --------------------------------------------------------------------------- #
# the copy is bounded
# --------------------------------------------------------------------------- #

def test_an_8_gib_sparse_file_is_left_out_without_being_read(submission, worker_script):
    _sparse(submission / "big.bin", 8 << 30)
    _sparse(submission / "huge.py", 3 << 30)
    t0 = time.monotonic()
    with sandbox.make_stage(worker_script, submission) as stage:
        elapsed = time.monotonic() - t0
        assert _files(stage) == ["gd.py"]
        assert stage.left_out == ["huge.py (3 GiB, over the 1 MiB Python-file limit)",
                                  "big.bin (8 GiB, over the 4 MiB data-file limit)"]
    assert elapsed < 2, f"staging took {elapsed:.1f} s (copying 8 GiB took 56 s)"


def test_a_submission_1100_folders_deep_is_staged_to_depth_8(submission, worker_script):
    _deep(submission / "pkg", DEPTH)
    t0 = time.monotonic()
    with sandbox.make_stage(worker_script, submission) as stage:
        assert time.monotonic() - t0 < 2
        files = _files(stage)
        # pkg is level 1: m.py in pkg and in the 7 d/ below it, none deeper
        assert files == sorted(["gd.py", *("/".join(["pkg", *["d"] * k, "m.py"]) for k in range(8))])
        assert stage.left_out == ["/".join(["pkg", *["d"] * 8]) + "/ (more than 8 folder levels deep)"]
    assert not stage.path.exists()


def test_only_regular_files_enter_the_stage(submission, worker_script, tmp_path):
    (submission / "data.csv").write_text("x,y\n1,2\n")
    (submission / ".hidden.txt").write_text("a small data file\n")
    (submission / "pkg" / "__pycache__").mkdir(parents=True)
    (submission / "pkg" / "__init__.py").write_text("")
    (submission / "pkg" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (submission / ".git").mkdir()
    (submission / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    os.mkfifo(submission / "pipe")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(submission / "sock"))
    os.symlink("/etc/passwd", submission / "passwd.py")
    os.symlink(submission / "pkg", submission / "pkglink")
    if os.geteuid() == 0:
        os.mknod(submission / "null", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    try:
        with sandbox.make_stage(worker_script, submission) as stage:
            assert _files(stage) == [".hidden.txt", "data.csv", "gd.py", "pkg/__init__.py"]
            expected = ["passwd.py (a symbolic link)", "pipe (a fifo)", "pkglink (a symbolic link)",
                        "sock (a socket)"]
            if os.geteuid() == 0:
                expected.insert(0, "null (a device)")
            assert stage.left_out == expected
    finally:
        sock.close()


def test_caps_keep_python_files_first(submission, worker_script):
    """Under the total and count caps the student modules get in before data files, and shallow
    before deep; what does not fit is listed, then summed up."""
    (submission / "a_data.bin").write_bytes(b"x" * 3000)
    (submission / "sub").mkdir()
    (submission / "sub" / "deep.py").write_text("y = 2\n" * 100)
    for i in range(5):
        (submission / f"extra{i}.txt").write_text("z")
    limits = sandbox.CopyLimits(total=2000, files=4, notes=3)
    with sandbox.make_stage(worker_script, submission, limits=limits) as stage:
        assert _files(stage) == ["extra0.txt", "extra1.txt", "gd.py", "sub/deep.py"]
        assert stage.left_out == ["a_data.bin (2.93 KiB, over the 1.95 KiB limit for all files)",
                                  "extra2.txt (over the limit of 4 files)",
                                  "extra3.txt (over the limit of 4 files)",
                                  "... and 1 more"]


def test_the_survey_looks_at_a_bounded_number_of_entries(submission, worker_script):
    for i in range(300):
        (submission / f"f{i:03}.txt").write_text("")
    limits = sandbox.CopyLimits(entries=100)
    with sandbox.make_stage(worker_script, submission, limits=limits) as stage:
        assert len(_files(stage)) == 100  # of 301: the first 100 the folder listed
        assert stage.left_out == ["everything after the first 100 entries (not looked at)"]


def test_a_file_that_grows_during_the_copy_is_left_out(submission, worker_script, monkeypatch):
    (submission / "notes.txt").write_text("short\n")
    real = tree._choose

    def choose_then_grow(files, limits, notes):
        chosen = real(files, limits, notes)
        (submission / "notes.txt").write_text("much longer than it was\n")
        return chosen

    monkeypatch.setattr(tree, "_choose", choose_then_grow)
    with sandbox.make_stage(worker_script, submission) as stage:
        assert _files(stage) == ["gd.py"]
        assert stage.left_out == ["notes.txt (changed while it was copied)"]


# --------------------------------------------------------------------------- #
# removal never recurses, never follows a link, never raises
# --------------------------------------------------------------------------- #

@pytest.fixture
def outside(tmp_path):
    """What a link planted in a stage points to: must survive the stage's removal."""
    d = tmp_path / "outside"
    d.mkdir()
    (d / "keep.txt").write_text("keep me\n")
    return d


def test_remove_tree_of_a_1200_deep_tree_with_links_and_odd_modes(tmp_path, outside):
    top = tmp_path / "victim"
    _deep(top, 1200, leaf="f")
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for i in range(1200):  # links to the outside on the way down
        if i % 100 == 0:
            os.symlink(str(outside), f"link{i}", dir_fd=fd)
            os.mkfifo(f"fifo{i}", dir_fd=fd)
        nxt = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        if i % 300 == 299:
            os.chmod(f"/proc/self/fd/{fd}", 0o000)  # a folder nobody may list
        os.close(fd)
        fd = nxt
    os.close(fd)
    os.symlink(str(outside), top / "outside_link")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tree.remove_tree(top) is True
    assert not top.exists()
    assert (outside / "keep.txt").read_text() == "keep me\n"
    assert tree.remove_tree(top) is True  # gone already: fine


def test_remove_tree_as_a_plain_user_fixes_modes_but_follows_no_link(outside):
    """Not as root (the process layer on a laptop): folders left 0000 or 0500 by a worker are
    made writable, through the folder itself, never through a link."""
    python = DEBIAN_PYTHON if Path(DEBIAN_PYTHON).exists() else None
    if os.geteuid() != 0 or python is None or not os.stat(REPO).st_mode & stat.S_IXOTH:
        pytest.skip("needs root (to become another user) and a Python that user can run")
    base = Path(tempfile.mkdtemp(prefix="gdkit-test-rm-", dir="/tmp"))
    os.chmod(base, 0o755)
    os.chmod(outside, 0o777)
    os.chmod(outside.parent, 0o755)
    try:
        script = (
            "import os, sys\n"
            f"sys.path.insert(0, {str(REPO)!r})\n"
            "from autograder.sandbox import tree\n"
            "top = sys.argv[1]\n"
            "os.makedirs(top + '/a/b/c')\n"
            "open(top + '/a/b/c/f', 'w').write('x')\n"
            f"os.symlink({str(outside)!r}, top + '/a/b/out')\n"
            "os.chmod(top + '/a/b/c', 0o000)\n"
            "os.chmod(top + '/a/b', 0o500)\n"
            "os.chmod(top + '/a', 0o000)\n"
            "print(tree.remove_tree(top), os.path.exists(top))\n")

        def demote():
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)

        os.chown(base, 65534, 65534)
        out = subprocess.run([python, "-I", "-c", script, str(base / "top")], preexec_fn=demote,
                             capture_output=True, text=True, timeout=60)
        assert out.stdout.split() == ["True", "False"], out.stderr
        assert stat.S_IMODE(os.stat(outside).st_mode) == 0o777  # the link's target kept its mode
        assert (outside / "keep.txt").exists()
    finally:
        tree.remove_tree(base)


STAND_IN = r'''
import json, os, sys
tmp = os.environ["TMPDIR"]
cfg = json.loads(sys.argv[1])
fd = os.open(tmp, os.O_RDONLY | os.O_DIRECTORY)
for i in range(cfg["depth"]):
    if i % 200 == 0 and cfg.get("outside"):
        os.symlink(cfg["outside"], "out%d" % i, dir_fd=fd)
    os.mkdir("d", dir_fd=fd)
    nxt = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
    os.close(fd)
    fd = nxt
with open(os.path.join(tmp, "ok.txt"), "w") as fh:
    fh.write("x")
listing = sorted(os.listdir("."))
print(json.dumps({"built": cfg["depth"], "listing": listing}), flush=True)
sys.stdin.read()
'''


@pytest.fixture(params=sandbox.LAYERS)
def layer(request, monkeypatch):
    _layer_setup(request.param, monkeypatch)
    return request.param


def test_a_hostile_submission_and_a_deep_tmp_in_every_layer(layer, submission, outside, tmp_path):
    """In every layer: a submission with an 8 GiB sparse file and 1100 levels stages at once, the
    worker sees only what was copied, builds 1200 levels in its tmp/ with links to the outside,
    and closing the stage removes it all without a warning and without touching the outside."""
    _sparse(submission / "big.bin", 8 << 30)
    _deep(submission / "deep", DEPTH)
    script = tmp_path / "stand_in.py"
    script.write_text(STAND_IN)
    os.chmod(outside.parent, 0o755)
    t0 = time.monotonic()
    stage = sandbox.make_stage(script, submission)
    try:
        assert time.monotonic() - t0 < 2
        cfg = json.dumps({"depth": 1200, "outside": str(outside)})
        with tempfile.TemporaryFile() as err:
            worker = sandbox.spawn(layer, stage, [cfg], sandbox.Limits(), err)
            line = worker.stdout.readline()
            err.seek(0)
            assert line, err.read().decode()[-2000:]
            rep = json.loads(line)
            assert rep["built"] == 1200 and rep["listing"] == ["deep", "gd.py"]
            if layer != "bwrap":  # bwrap's tmp/ is a tmpfs of its own: the host's stays empty
                assert (stage / "tmp" / "ok.txt").exists()
            worker.kill()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            stage.close()
        assert not stage.path.exists()
        assert (outside / "keep.txt").read_text() == "keep me\n"
    finally:
        stage.close()


def test_grading_a_hostile_submission_through_the_cli(tmp_path):
    """End to end: the grade runs, scores, and reports what was not copied."""
    sub = tmp_path / "hostile"
    sub.mkdir()
    for name in ("linear_regression_basic.py", "linear_regression_numpy.py", "logistic_regression.py"):
        (sub / name).write_text((REPO / "solutions" / name).read_text())
    _sparse(sub / "big.bin", 8 << 30)
    _deep(sub / "deep", DEPTH)
    try:
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(sub), "--isolation", "process",
                               "--only", "linear_regression_basic.predict"],
                              capture_output=True, text=True, timeout=120, cwd=str(REPO))
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert time.monotonic() - t0 < 60
        assert "big.bin (8 GiB, over the 4 MiB data-file limit)" in proc.stdout, proc.stdout[-3000:]
    finally:
        tree.remove_tree(sub)
