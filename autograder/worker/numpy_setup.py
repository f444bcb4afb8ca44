"""NumPy in the worker: imported without ctypes, or made unimportable (the basic module's worker).

No importlib.abc here: a meta path finder is any object with find_spec, and importlib.abc would
cost the worker's start ~25 ms of imports (typing, importlib.resources, tempfile).
"""
import sys

BLOCKED = "NumPy is not available here: this module must run on plain Python (slide 9)"


class _Refuse:
    """A meta path finder that refuses some top-level packages."""

    def __init__(self, names, message):
        self.names, self.message = frozenset(names), message

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.names:
            raise ImportError(self.message)
        return None

    def invalidate_caches(self):
        pass


def block_numpy():
    """Make NumPy unimportable, to show that the basic module runs on plain Python (the guard
    refuses the import too, should a student remove this finder)."""
    import types

    class Blocked(types.ModuleType):
        def __getattr__(self, attr):
            raise ImportError(BLOCKED)

    for name in [m for m in sys.modules if m == "numpy" or m.startswith("numpy.")]:
        del sys.modules[name]
    sys.meta_path.insert(0, _Refuse({"numpy"}, BLOCKED))
    sys.modules["numpy"] = Blocked("numpy")


def import_numpy_without_ctypes():
    """NumPy, imported with ctypes unavailable (NumPy works without it; a student must not get
    it through NumPy)."""
    finder = _Refuse({"ctypes", "_ctypes"}, "ctypes is not available in the grading worker")
    sys.meta_path.insert(0, finder)
    try:
        import numpy
    finally:
        sys.meta_path.remove(finder)
    for name in [m for m in sys.modules if m.split(".")[0] in ("ctypes", "_ctypes")]:
        del sys.modules[name]
    return numpy
