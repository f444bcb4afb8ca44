"""The worker's entry: python -I -B <stage>/gdkit_worker/__main__.py [--block-numpy]
[--deny PATH]... [--no-landlock], with the submission folder as working directory.

Under -I no folder of ours is on sys.path, so the package is loaded from this file's own folder
under the name gdkit_worker, which no submission module can shadow (from the stage's
hash-checked pycs where they match the sources: see sandbox.stage.bytecode). wire.py's code is
loaded here once and run twice: as gdkit_worker.wire, and as the protocol thread's sealed copy (see
loop.sealed_wire). `--no-landlock` (tests only) leaves the paths to the guard alone, as on a
kernel without Landlock.

The start, in this order: move the protocol off descriptors 0 and 1; import NumPy without ctypes
(or block it); restrict the process with Landlock (ctypes, then forgotten); trim sys.path; bind
the sealed code, the protocol thread and the guard; install the guard; say hello. Then the main
thread only waits: the protocol thread ends the process.
"""
import os
import sys


def _bootstrap():
    """Load the package as gdkit_worker; return wire.py's code object."""
    from importlib._bootstrap import module_from_spec
    from importlib._bootstrap_external import spec_from_file_location

    here = os.path.dirname(os.path.abspath(__file__))
    package = module_from_spec(spec_from_file_location(
        "gdkit_worker", os.path.join(here, "__init__.py"), submodule_search_locations=[here]))
    sys.modules["gdkit_worker"] = package
    spec = spec_from_file_location("gdkit_worker.wire", os.path.join(here, "wire.py"))
    code = spec.loader.get_code(spec.name)   # the stage's hash-checked pyc, if it matches
    wire = module_from_spec(spec)
    sys.modules["gdkit_worker.wire"] = wire
    exec(code, wire.__dict__)
    package.__spec__.loader.exec_module(package)
    return code


def main(argv, wire_code=None):
    import _imp
    import _thread
    import gc
    import importlib.machinery
    import threading

    from gdkit_worker import guard, landlock, loop, numpy_setup, wire

    block_numpy, use_landlock = "--block-numpy" in argv, "--no-landlock" not in argv
    deny = [os.path.realpath(argv[i + 1]) for i, a in enumerate(argv[:-1]) if a == "--deny"]
    fd_in, fd_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(2, 1)  # raw writes to fd 1 land in the stderr log, never in the protocol
    folder = os.path.realpath(os.getcwd())
    hello = {"op": "hello", "pid": os.getpid(), "uid": os.getuid(),
             "python": sys.version.split()[0]}
    numpy = None
    if block_numpy:
        numpy_setup.block_numpy()
    else:
        try:
            numpy = numpy_setup.import_numpy_without_ctypes()  # before ctypes, before sys.path
            hello["numpy"] = numpy.__version__
        except Exception as e:
            hello["numpy_error"] = f"{type(e).__name__}: {e}"
    read_roots, write_roots, ext_roots = guard.roots(folder)
    stage = os.path.dirname(folder)
    if use_landlock:
        hello.update(landlock.restrict(
            read_dirs=ext_roots + [folder, os.path.join(stage, "gdkit_worker")],
            write_dirs=write_roots[-1:], deny=deny))
        landlock.forget_ctypes()
    else:
        hello["landlock"], hello["landlock_error"] = 0, "switched off (--no-landlock)"
    if not hello["landlock"]:
        guard.no_fd_functions()
    # the interpreter's own path only (an editable install may have put the grader's checkout on
    # it), then the submission, last: its files never shadow an installed module
    sys.path[:] = [p for p in sys.path if guard._inside(os.path.realpath(p or "."), ext_roots)
                   and not guard._inside(os.path.realpath(p), deny)]
    sys.path_importer_cache.clear()
    sys.path.append(folder)

    npf = wire.numpy_fns(numpy)
    counts, trusted = [0, 0], []
    protected = [loop._run_job, wire._encode, wire._decode, loop._trace,
                 guard.guarded_create_builtin, None]
    start_thread = _thread.start_new_thread
    protocol = loop.make_protocol(fd_in, fd_out, folder, npf, loop._run_job, counts, trusted,
                                  start_thread, protected, loop.sealed_wire(wire_code))
    hook = guard.make_guard(read_roots=read_roots, write_roots=write_roots, deny=deny,
                            block_numpy=block_numpy, counts=counts, trusted=trusted,
                            ext_roots=ext_roots, create_builtin=_imp.create_builtin,
                            module_spec=importlib.machinery.ModuleSpec, protected=protected,
                            kernel_paths=bool(hello["landlock"]))
    gc.collect()
    gc.freeze()   # NumPy's and our objects: never traversed again by the job threads' collections
    gc.disable()  # garbage is collected in job threads only (see loop._run_job)

    def no_threads(*args, **kwargs):
        raise RuntimeError("threads cannot be started in the grading worker")

    for module, name in ((_thread, "start_new_thread"), (_thread, "start_new"),
                         (_thread, "start_joinable_thread"), (threading, "_start_new_thread"),
                         (threading, "_start_joinable_thread")):
        if hasattr(module, name):
            setattr(module, name, no_threads)
    _imp.create_builtin = guard.guarded_create_builtin
    start_thread(protocol, ())   # it waits for the grader's key, which comes after the hello
    sys.addaudithook(hook)
    wire.write_frame(fd_out, hello)
    # this frame lives on in the idle main thread: keep nothing in it that the guard shares
    del counts, trusted, protected, hook, protocol, start_thread, npf
    idle = _thread.allocate_lock()
    idle.acquire()
    while True:  # the main thread only waits; the protocol thread ends the process
        try:
            idle.acquire()
        except BaseException:
            pass


if __name__ == "__main__":
    main(sys.argv[1:], _bootstrap())
