"""The guard: an audit hook, installed before any student code runs, that refuses what a
submission has no business doing, and counts what could tamper with the step counter.

It refuses: starting processes or threads, signalling other processes, sockets, ctypes and other
native escape hatches, reading outside the stage and the Python installation, writing outside the
stage's tmp/, walking every object (gc) or every thread's stack, adding audit hooks, creating
code objects, replacing the code or defaults of the worker's sealed functions.

Paths. Where the kernel enforces the worker's paths (Landlock, see landlock.py), the guard is a
second layer: it checks every path it is shown, and leaves calls relative to a directory
descriptor (`dir_fd=`, `os.listdir(fd)`, `os.fchdir`), which it cannot resolve, to the kernel.
Where the kernel does not, it refuses them, and it refuses to open directories at all (no
directory descriptor, no descriptor-relative call), so what it checks is what is opened. Python
reports a default `dir_fd` as -1 (AT_FDCWD): relative to the working directory, like a plain path.

Everything the hook uses is bound in its closure when it is made: the hook itself is held only by
the interpreter, so no student code can reach it.
"""
import os
import sys

DENIED_MODULES = frozenset({
    "ctypes", "_ctypes", "_testcapi", "_testinternalcapi", "_testbuffer", "_testmultiphase",
    "_testsinglephase", "_testimportmultiple", "_testclinic", "_xxsubinterpreters",
    "_xxinterpchannels", "_interpreters", "_interpchannels", "_interpqueues", "_posixsubprocess",
})
RECREATE_DENIED = DENIED_MODULES | {"_thread", "_signal", "posix", "_imp", "sys", "builtins", "gc",
                                    "_io", "time", "_json", "_sha256", "_sha2", "_hashlib",
                                    "_operator"}

DENIED_EVENTS = frozenset({
    "os.fork", "os.forkpty", "os.exec", "os.posix_spawn", "os.spawn", "os.system",
    "subprocess.Popen", "pty.spawn", "os.killpg", "os.symlink", "os.link", "os.pidfd_open",
    "sys._current_frames", "sys._current_exceptions", "gc.get_objects", "gc.get_referrers",
    "gc.get_referents", "gc.freeze", "resource.setrlimit", "resource.prlimit", "code.__new__",
    "webbrowser.open", "_thread.start_new_thread", "_thread.start_joinable_thread",
    "os.add_dll_directory", "sys.remote_exec", "cpython.remote_debugger_script",
})

READ_EVENTS = frozenset({"os.listdir", "os.scandir", "os.chdir", "os.getxattr", "os.listxattr",
                         "os.chroot"})
# write events: where their dir_fd argument is, if they have one
WRITE_EVENTS = {"os.mkdir": 2, "os.rmdir": 1, "os.remove": 1, "os.truncate": None,
                "os.chmod": 2, "os.chown": 3, "os.utime": 3, "os.chflags": None,
                "os.lchflags": None, "os.setxattr": None, "os.removexattr": None,
                "os.lchmod": None, "os.lchown": None}
# the ones the kernel checks (Landlock: make, remove), when they are relative to a descriptor
KERNEL_CHECKED = frozenset({"os.mkdir", "os.rmdir", "os.remove", "os.rename"})
# metadata changes: Landlock does not cover them, so never through a descriptor
METADATA_EVENTS = frozenset({"os.chmod", "os.chown", "os.utime", "os.chflags", "os.lchflags",
                             "os.setxattr", "os.removexattr", "os.lchmod", "os.lchown"})
FRAME_EVENTS = frozenset({"sys._getframe", "sys._getframemodulename", "object.__getattr__"})
TRACE_EVENTS = frozenset({"sys.settrace", "sys.setprofile", "sys.monitoring.register_callback",
                          "sys.monitoring.use_tool_id"})
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")
AT_FDCWD = (None, -1, -100)   # how a dir_fd meaning "the working directory" reaches the hook


def _inside(path, roots):
    return any(path == r or path.startswith(r + "/") for r in roots)


def roots(folder):
    """(read roots, write roots, extension roots) for the submission `folder`: the stage and the
    Python installation, as the guard and Landlock both see them."""
    stage = os.path.dirname(folder)
    prefixes = []
    for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
              os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))):
        for q in (p, os.path.realpath(p)):
            if q and q not in prefixes and q != "/":
                prefixes.append(q)
    system = [os.path.realpath(d) for d in ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin",
                                            "/sbin") if os.path.isdir(d)]
    ext = prefixes + [d for d in system if d not in prefixes]
    read = [stage, os.path.realpath(stage)] + ext
    write = [os.path.join(stage, "tmp"), os.path.realpath(os.path.join(stage, "tmp"))]
    return read, write, ext


def make_paths(read_roots, write_roots, deny):
    """(real, check, is_dir, within): the guard's path functions, bound on the calls they need
    (a patched os or os.path cannot fool them)."""
    _getcwd, _readlink, _stat = os.getcwd, os.readlink, os.stat
    _type, _str, _bytes, _int = type, str, bytes, int
    _PermissionError, _OSError = PermissionError, OSError
    read_roots, write_roots, deny = tuple(read_roots), tuple(write_roots), tuple(deny)
    devices = DEVICES

    def real(path):
        """The path with every symlink resolved (a realpath on bound calls only)."""
        if not path.startswith("/"):
            path = _getcwd() + "/" + path
        todo = path.split("/")
        todo.reverse()
        done, hops = "", 0
        while todo:
            part = todo.pop()
            if part == "" or part == ".":
                continue
            if part == "..":
                done = done[:done.rfind("/")] if done else ""
                continue
            candidate = done + "/" + part
            try:
                target = _readlink(candidate)
            except _OSError:
                done = candidate
                continue
            hops += 1
            if hops > 40:
                raise _PermissionError("too many symbolic links")
            if target.startswith("/"):
                done = ""
            parts = target.split("/")
            parts.reverse()
            todo += parts
        return done or "/"

    def within(path, roots):
        for root in roots:
            if path == root or path.startswith(root + "/"):
                return True
        return False

    def plain(path, what):
        t = _type(path)
        if t is _bytes:
            path = path.decode("utf-8", "surrogateescape")
        elif t is not _str:
            raise _PermissionError(f"{what}: the grading worker only takes paths as plain str")
        if "\0" in path:
            raise _PermissionError(f"{what}: a NUL in a path")
        return path

    def check(path, write, what):
        """Refuse `path` (a str or bytes path, not a descriptor) unless the worker may use it."""
        path = plain(path, what)
        p = real(path)
        if within(p, deny):
            raise _PermissionError(f"{what} {path!r:.200}: the grader's own files are off limits")
        if p in devices:
            return
        if not within(p, write_roots if write else read_roots):
            where = "its tmp/ folder" if write else "the submission and the Python installation"
            raise _PermissionError(f"{what} {path!r:.200}: the grading worker only "
                                   f"{'writes' if write else 'reads'} {where}")

    def is_dir(path):
        try:
            return _stat(plain(path, "open")).st_mode & 0o170000 == 0o040000
        except _OSError:
            return False

    return real, check, is_dir, within


def make_guard(*, read_roots, write_roots, deny, block_numpy, counts, trusted, ext_roots,
               create_builtin, module_spec, protected, kernel_paths):
    """The audit hook. `counts` ([trace events, frame events]), `trusted` (thread idents the
    guard lets through: the protocol thread) and `protected` (the sealed functions and the live
    step counter, whose code and defaults no one may replace) are shared with the protocol thread
    and nobody else. `kernel_paths`: Landlock enforces the worker's paths (see the docstring).
    The original `_imp.create_builtin` is held here: only the hook may call it, on a
    "gdkit.create_builtin" event."""
    import _thread

    real, check, is_dir, within = make_paths(read_roots, write_roots, deny)
    _get_ident = _thread.get_ident
    _type, _str, _bytes, _int, _len, _bool = type, str, bytes, int, len, bool
    _PermissionError = PermissionError
    _write_flags = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
    _o_path = getattr(os, "O_PATH", 0)
    _dir_flags = os.O_DIRECTORY | _o_path
    _o_tmpfile = getattr(os, "O_TMPFILE", 0)   # O_DIRECTORY is one of its bits
    _denied_events = DENIED_EVENTS
    _read_events, _write_events, _frame_events, _trace_events = (
        READ_EVENTS, WRITE_EVENTS, FRAME_EVENTS, TRACE_EVENTS)
    _kernel_checked, _metadata_events, _at_cwd = KERNEL_CHECKED, METADATA_EVENTS, AT_FDCWD
    kernel_paths = _bool(kernel_paths)

    def on_open(path, mode, flags):
        if _type(path) is _int:
            return  # a descriptor it already holds
        write = (flags & _write_flags) if _type(flags) is _int else (
            _type(mode) is _str and ("w" in mode or "a" in mode or "x" in mode or "+" in mode))
        check(path, _bool(write), "open")
        if _type(flags) is _int and flags & _o_path:  # no honest use; it reaches past Landlock
            raise _PermissionError("the grading worker opens nothing with O_PATH")
        if _type(flags) is _int and _o_tmpfile and flags & _o_tmpfile == _o_tmpfile:
            return  # an unnamed file in that directory (tempfile): a file descriptor
        if mode is not None:
            return  # io.open: it never gives a directory descriptor (its opener gets the checks)
        if not kernel_paths and ((_type(flags) is _int and flags & _dir_flags) or is_dir(path)):
            raise _PermissionError("the grading worker opens no directories here (the kernel "
                                   "cannot check paths relative to them)")

    def relative_to_fd(event, path, dir_fd):
        """True for a call the kernel must check (relative to a directory descriptor)."""
        if dir_fd in _at_cwd:
            return False
        t = _type(path)
        if t is not _str and t is not _bytes:
            raise _PermissionError(f"{event}: the grading worker only takes paths as plain str")
        if path[:1] == ("/" if t is _str else b"/"):
            return False  # an absolute path: the descriptor plays no part
        if kernel_paths and event in _kernel_checked:
            return True
        raise _PermissionError(f"{event} relative to a directory descriptor")

    def on_write(event, args):
        where = _write_events[event]
        path = args[0]
        if _type(path) is _int:  # through a descriptor: fchmod, fchown, futimes, ftruncate
            if event in _metadata_events:
                raise _PermissionError(f"{event} through a descriptor")
            return
        if where is not None and _len(args) > where and relative_to_fd(event, path, args[where]):
            return
        check(path, True, event)

    on_import = make_import_check(block_numpy, ext_roots, deny, real, within)
    on_other = make_other_checks(relative_to_fd, check, protected, create_builtin, module_spec)

    def hook(event, args):
        if _get_ident() in trusted:
            return
        if event == "open":
            on_open(*args)
        elif event in _frame_events:
            counts[1] += 1
        elif event in _trace_events:
            counts[0] += 1
        elif event in _denied_events or event.startswith("socket.") or \
                event.startswith("ctypes.") or event.startswith("sqlite3."):
            raise _PermissionError(f"{event} is not allowed in the grading worker")
        elif event == "import":
            on_import(args)
        elif event in _read_events:
            if _type(args[0]) is _int:  # listdir(fd), scandir(fd), fchdir
                if not kernel_paths:
                    raise _PermissionError(f"{event} of a descriptor")
            else:
                check(args[0], False, event)
        elif event in _write_events:
            on_write(event, args)
        else:
            on_other(event, args)

    return hook


def make_import_check(block_numpy, ext_roots, deny, real, within):
    """on_import(args): refuse ctypes and the other native escape hatches, NumPy in the
    NumPy-free worker, and extension modules from outside the Python installation."""
    _type, _str, _len, _ImportError = type, str, len, ImportError
    _denied_modules = DENIED_MODULES
    ext_roots, deny = tuple(ext_roots), tuple(deny)

    def on_import(args):
        name = args[0]
        if _type(name) is not _str:
            raise _ImportError("a module name must be a plain str here")
        for part in name.split("."):
            if part in _denied_modules:
                raise _ImportError(f"{name} cannot be imported in the grading worker")
        if block_numpy and name.split(".")[0] == "numpy":
            raise _ImportError("NumPy is not available here: this module must run on plain "
                               "Python (slide 9)")
        filename = args[1] if _len(args) > 1 else None
        if filename is not None:  # an extension module, loaded from a file
            where = real(filename) if _type(filename) is _str else None
            if where is None or not within(where, ext_roots) or within(where, deny):
                raise _ImportError(f"{name}: no extension modules from outside the Python "
                                   "installation")

    return on_import


def make_other_checks(relative_to_fd, check, protected, create_builtin, module_spec):
    """on_other(event, args): renames, signals, audit hooks, the sealed functions' code and
    defaults, file-backed mmap, and the re-creation of built-in modules."""
    _type, _str, _list, _getpid = type, str, list, os.getpid
    _PermissionError, _ImportError, _RuntimeError = PermissionError, ImportError, RuntimeError
    _recreate_denied = RECREATE_DENIED
    _builtin_importer = __import__("importlib.machinery").machinery.BuiltinImporter
    _funny = ("__code__", "__defaults__", "__kwdefaults__")

    def on_other(event, args):
        if event == "os.rename":
            for path, dir_fd in ((args[0], args[2]), (args[1], args[3])):
                if not relative_to_fd(event, path, dir_fd):
                    check(path, True, event)
        elif event == "os.kill":
            if args[0] != _getpid():
                raise _PermissionError("the grading worker may not signal other processes")
        elif event == "sys.addaudithook":
            raise _RuntimeError("no audit hooks in the grading worker")
        elif event == "object.__setattr__" or event == "object.__delattr__":
            if _type(args[1]) is _str and args[1] in _funny:
                target = args[0]
                for fn in protected:
                    if fn is target:
                        raise _PermissionError(f"the grading worker's {args[1]} cannot be changed")
        elif event == "mmap.__new__":
            if args[0] != -1:
                raise _PermissionError("only anonymous mmap in the grading worker")
        elif event == "gdkit.create_builtin":
            name, box = args
            if _type(name) is not _str or _type(box) is not _list or name in _recreate_denied:
                raise _ImportError(f"{name!r:.60} cannot be created again in the grading worker")
            box.append(create_builtin(module_spec(name, _builtin_importer, origin="built-in")))

    return on_other


def guarded_create_builtin(spec, _audit=sys.audit, _getattr=getattr, _type=type, _str=str,
                           _ImportError=ImportError):
    """Replaces _imp.create_builtin: a built-in module is created by the guard, which refuses the
    ones that would undo it (a fresh _thread, or a _posixsubprocess that starts processes)."""
    name = _getattr(spec, "name", None)
    if _type(name) is not _str:
        raise _ImportError("a module name must be a plain str here")
    box = []
    _audit("gdkit.create_builtin", name, box)
    if not box:
        raise _ImportError(f"{name} could not be created")
    return box[0]


def no_fd_functions():
    """Where the kernel does not check paths: make the standard library use its path-based
    variants (shutil.rmtree, os.fwalk callers), which the guard can check."""
    for name in ("open", "stat", "unlink", "rmdir", "mkdir", "rename", "chmod", "utime"):
        fn = getattr(os, name, None)
        os.supports_dir_fd.discard(fn)
    os.supports_fd.discard(os.scandir)
    shutil = sys.modules.get("shutil")
    if shutil is not None:
        shutil._use_fd_functions = False
