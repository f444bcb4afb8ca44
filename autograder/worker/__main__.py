"""Start the worker: python -I -B <stage>/gdkit_worker/__main__.py [--block-numpy] [--deny PATH]...

Under -I no folder of ours is on sys.path, so the package is loaded from this file's own folder
under the name gdkit_worker, which no submission module can shadow.
"""
import importlib.util
import os
import sys

if __name__ == "__main__":
    _here = os.path.dirname(os.path.abspath(__file__))
    _spec = importlib.util.spec_from_file_location(
        "gdkit_worker", os.path.join(_here, "__init__.py"), submodule_search_locations=[_here])
    _package = importlib.util.module_from_spec(_spec)
    sys.modules["gdkit_worker"] = _package
    _spec.loader.exec_module(_package)
    from gdkit_worker.core import main

    main(sys.argv[1:])
