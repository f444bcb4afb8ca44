"""The worker's interpreter: $GDKIT_WORKER_PYTHON or sys.executable, and where it lives."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from . import forksafe

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # autograder/
PACKAGE = PACKAGE_DIR.name


@dataclass(frozen=True)
class Interpreter:
    exe: str  # what we exec (the interpreter's own sys.executable: keeps a venv a venv)
    prefixes: tuple[str, ...]  # sys.prefix, base_prefix, exec_prefix, base_exec_prefix, dir of real exe
    # installed copies of this package (with its data/) that bwrap must hide when they sit
    # inside a bound prefix
    masks: tuple[str, ...] = ()
    numpy: str | None = None  # numpy/__init__.py as `exe -I` finds it (found, not imported)


_cache: dict[str, Interpreter] = {}
_lock = forksafe.RLock()

_QUERY = ("import sys, json, site, importlib.util as u; s = u.find_spec('numpy'); print(json.dumps(["
          "sys.executable, sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,"
          " site.getsitepackages(), s and s.origin]))")


def chosen() -> str:
    return os.environ.get("GDKIT_WORKER_PYTHON") or sys.executable


def current() -> Interpreter:
    """The interpreter for workers started now (cached per interpreter); RuntimeError if it does
    not run."""
    name = chosen()
    with _lock:
        if name not in _cache:
            _cache[name] = _ask(name)
        return _cache[name]


def _ask(name: str) -> Interpreter:
    if name == sys.executable:
        import importlib.util
        import site

        exe = os.path.abspath(sys.executable)
        raw = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
        sites = site.getsitepackages() if hasattr(site, "getsitepackages") else []
        masks = [os.path.join(d, PACKAGE) for d in sites] + [str(PACKAGE_DIR)]
        spec = importlib.util.find_spec("numpy")
        numpy = spec.origin if spec is not None else None
        roots = {os.path.join(r, "") for p in raw if p for r in (p, os.path.realpath(p))}
        if numpy and not any(n.startswith(r) for r in roots for n in (numpy, os.path.realpath(numpy))):
            numpy = None  # from PYTHONPATH or the user's site-packages: `exe -I` would not find it
    else:
        try:
            out = subprocess.run([name, "-I", "-c", _QUERY], capture_output=True, timeout=60,
                                 env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}, check=True).stdout
            exe, *raw, sites, numpy = json.loads(out)
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            raise RuntimeError(f"GDKIT_WORKER_PYTHON={name!r} does not run: {exc}") from None
        exe = os.path.abspath(exe or name)
        masks = [os.path.join(d, PACKAGE) for d in sites]
    real = os.path.realpath(exe)
    prefixes: list[str] = []
    for p in [*raw, os.path.dirname(os.path.dirname(real))]:
        if p and os.path.isabs(p) and p not in prefixes:
            prefixes.append(p)
    masks = [os.path.realpath(m) for m in masks if os.path.isdir(m)]
    return Interpreter(exe=exe, prefixes=tuple(prefixes), masks=tuple(dict.fromkeys(masks)),
                       numpy=numpy if isinstance(numpy, str) and os.path.isabs(numpy) else None)


def worker_python() -> str:
    """The interpreter that runs the worker: $GDKIT_WORKER_PYTHON or sys.executable."""
    return current().exe


def worker_env(stage: Path) -> dict[str, str]:
    """The worker's whole environment (the same in every layer)."""
    tmp = str(Path(stage) / "tmp")
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": tmp,
        "TMPDIR": tmp,
        "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env
