"""A failed call into the submission, told in the student's terms: a timeout, a crash, a missing
module or function, a wrong signature, an exception in their code."""
from __future__ import annotations

from ..checks.base import Failure, fmt


def size(nbytes: int) -> str:
    return f"{nbytes / (1 << 30):g} GiB" if nbytes >= 1 << 30 else f"{nbytes >> 20} MiB"


def explain(module, function, reply, args, kwargs, *, functions, memory) -> Failure:
    """A Failure that says what went wrong with `module.function(*args, **kwargs)`.

    `functions` maps the names the module defines to their signatures (from its import);
    `memory` is the worker's memory limit in bytes."""
    error = reply.error or {}
    kind, message = error.get("type", ""), error.get("message", "")
    call = f"{function}({', '.join([fmt(a) for a in args] + [f'{k}={fmt(v)}' for k, v in kwargs.items()])})"
    if reply.status == "timeout":
        return Failure(f"{call} {message}", status="timeout")
    if reply.status == "skipped":
        return Failure(message, status="timeout" if kind == "timeout" else "skipped")
    if reply.status == "crash":
        log = error.get("log", "").strip()
        if kind == "DiskLimit":
            return Failure(f"{call}: {message}", status="crash")
        return Failure(f"{call} ended the worker process: {message}"
                       + (f"\nlast output: {log[-500:]}" if log else ""),
                       status="crash", hint="os._exit, a signal, or running out of memory (the "
                       f"limit is {size(memory)}) end the process")
    if kind in ("MemoryError", "_ArrayMemoryError"):
        detail = f": {message}" if message else ""
        return Failure(f"{call} ran out of memory: the grading worker's limit is "
                       f"{size(memory)} (MemoryError{detail})", status="crash",
                       traceback=error.get("traceback"),
                       hint="no step of the lecture needs more than a few MB")
    if kind == "Tampering":
        return Failure(f"{call}: {message}", status="error",
                       hint="the style checks count the Python steps a call takes: leave "
                            "sys.settrace, frames and threads alone")
    if kind == "MissingModule":
        return Failure(f"{module}.py is missing from the submission", status="missing")
    if kind == "MissingFunction":
        near = ", ".join(f"{name}{sig}" for name, sig in list(functions.items())[:8]) or "none"
        return Failure(f"{module}.py has no function named {function}", status="missing",
                       hint=f"functions defined in {module}.py: {near}")
    if error.get("import_failed"):
        return Failure(f"importing {module}.py failed: {kind}: {message}", status="error",
                       traceback=error.get("traceback"),
                       hint="fix this error first: every function of the module needs the import")
    if kind == "NotImplementedError":
        return Failure("not implemented yet", status="todo")
    failure = Failure(f"{call} raised {kind}: {message}", status="error",
                      traceback=error.get("traceback"))
    if kind == "TypeError" and error.get("student_frames") in ("0", 0):
        sig = functions.get(function)
        failure.hint = f"check the signature: yours is {function}{sig}" if sig else None
    return failure
