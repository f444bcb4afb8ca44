"""`gdkit release gradescope ZIP`: Gradescope's autograder zip.

    setup.sh            run once, as root, while Gradescope builds the image (Ubuntu 22.04):
                        python3, pip, bubblewrap, NumPy; checks that the grader loads
    run_autograder      run as root for each submission: `python3 -s -m autograder.drivers.gradescope`
                        from the zip's grader; ROOT is $AUTOGRADER_ROOT or /autograder
    gdkit/autograder/   the whole grader, every check with it (hidden ones included, were there any:
                        see release/student.py for the rule), its data; no solutions, no sympy

Gradescope unpacks the zip into ROOT/source, puts the submission in ROOT/submission and reads
ROOT/results/results.json. Following its guidance, the student's code runs as another user that
cannot read the autograder's files: run_autograder takes away the other users' rights on
ROOT/source (and on the submission's metadata) and requires a sandbox layer (bwrap, else uid; see
autograder/drivers/gradescope.py); it always leaves a valid results.json, even when the grader
itself fails (score 0, the error in the output).
"""
from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

from .student import LEFT_OUT, PACKAGE, ReleaseError
from .. import __version__, lecture

STAMP = (2024, 1, 1, 0, 0, 0)   # every entry's date: the same release gives the same zip

SETUP = f"""#!/usr/bin/env bash
# gdkit {__version__}: Gradescope runs this once, as root, while it builds the autograder's image
# (Ubuntu 22.04 by default). The zip is unpacked into /autograder/source.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends python3 python3-pip bubblewrap
# The grader runs from /autograder/source/gdkit (never installed: installed, the student's uid
# could read it). NumPy goes system-wide: the worker, under its own uid, imports it too.
python3 -m pip install --no-cache-dir "numpy>=1.26" "tomli>=2.0; python_version < '3.11'"
cd /autograder/source/gdkit
python3 -s -c "from autograder.checks import all_checks; print('gdkit: grader ready,', len(all_checks()), 'checks')"
"""

RUN = r"""#!/usr/bin/env bash
# Gradescope runs this as root for every submission: gdkit grades ROOT/submission and writes
# ROOT/results/results.json. ROOT is $AUTOGRADER_ROOT when set (to test it elsewhere), else
# /autograder. Whatever fails, a valid results.json is left behind.
set -u
root="${AUTOGRADER_ROOT:-/autograder}"
python="${GDKIT_PYTHON:-python3}"
results="$root/results/results.json"
mkdir -p "$root/results"

# The student's code runs as another uid (gdkit's bwrap or uid layer, required as root): it must
# not read the grader, nor the submission's metadata (names and e-mail addresses).
chmod -R o-rwx "$root/source" 2>/dev/null || true
if [ -e "$root/submission_metadata.json" ]; then chmod o-rwx "$root/submission_metadata.json"; fi
# the uid layer's workers need an interpreter that other uids can run: the system's
if [ -z "${GDKIT_WORKER_PYTHON:-}" ]; then
  GDKIT_WORKER_PYTHON="$(command -v "$python" || true)"
  export GDKIT_WORKER_PYTHON
fi

# from inside the zip's grader: `-m` puts this folder first on sys.path, so its autograder/ is the one
cd "$root/source/gdkit" && "$python" -s -m autograder.drivers.gradescope --root "$root"

# the last resort, should Python itself have failed: still a valid results.json
if ! "$python" -c 'import json, sys; json.load(open(sys.argv[1]))' "$results" 2>/dev/null; then
  printf '%s\n' '{"score": 0, "output": "The autograder failed before it could grade this submission (see its log); this is not a verdict on your code.", "tests": []}' > "$results"
fi
exit 0
"""


def _entry(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, STAMP)
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def build(target) -> list[str]:
    """Write the zip at `target`; return the names of its entries."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    names = []
    with zipfile.ZipFile(target, "w") as z:
        for name, text, mode in (("setup.sh", SETUP, 0o755), ("run_autograder", RUN, 0o755)):
            z.writestr(_entry(name, mode), text.encode("utf-8"))
            names.append(name)
        for source in sorted(PACKAGE.rglob("*")):
            relative = source.relative_to(PACKAGE)
            if (not source.is_file() or "__pycache__" in relative.parts or source.suffix == ".pyc"
                    or relative.as_posix() in LEFT_OUT or relative.parts[0] == "data"):
                continue
            name = f"gdkit/autograder/{relative.as_posix()}"
            z.writestr(_entry(name, 0o644), source.read_bytes())
            names.append(name)
        for source in sorted(lecture.data_dir().iterdir()):
            if source.is_file():
                name = f"gdkit/autograder/data/{source.name}"
                z.writestr(_entry(name, 0o644), source.read_bytes())
                names.append(name)
    return names


def add_arguments(p: argparse.ArgumentParser):
    p.add_argument("zip", metavar="ZIP", help="the zip file to write")


def run(args) -> int:
    try:
        names = build(args.zip)
    except (OSError, ReleaseError) as e:
        print(f"gdkit release gradescope: {e}", file=sys.stderr)
        return 2
    print(f"gdkit release gradescope: wrote {args.zip} ({len(names)} files); upload it as the "
          "assignment's autograder (Ubuntu 22.04)")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="gdkit release gradescope", description=__doc__.splitlines()[0])
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
