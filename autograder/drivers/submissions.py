"""The submissions of a class, as `gdkit grade-batch` finds and reads them (docs/batch.md).

`discover(folder)` lists them (trusted parent: names, kinds and a content digest only; nothing of a
submission is parsed there). `materialize(submission, dest)` turns one into a submission folder the
grader takes (in the grading child: zips are unpacked and notebooks read there), or raises
`Unreadable` with the reason the gradebook shows.

What counts as a submission, in SUBMISSIONS_DIR (hidden entries and `__MACOSX` are skipped):

- a folder holding the student modules (`<module>.py`), or notebooks (`<module>.ipynb`, or one
  notebook holding all three modules): its name is the folder's;
- a `.zip` holding such a folder (at its root, or in one folder at its root): the zip's name
  without `.zip`;
- a notebook `.ipynb`: the notebook's name without `.ipynb`;
- nbgrader's `submitted/<student>/<assignment>/`: one submission per student, named by the student
  id (SUBMISSIONS_DIR may be the course folder, its `submitted/`, or hold a `submitted/`).

A notebook never runs: its code cells are read as text. When a cell carries nbgrader's metadata,
only the solution cells are the student's code (and the import lines of the other cells, such as
the locked `import numpy as np`). Which module a cell belongs to: the notebook's name when it is
named after a module; else the module named by the cell's nbgrader grade_id
(`<module>-<function>-solution`), or by the last marker before it, a code cell's line
`# module: <module>` or a Markdown heading naming the module. Code cells before any marker are
shared by every module (imports, helpers). Like the notebook driver, only imports, functions,
classes and constants of a cell go into the module (drivers.nbgrader.module_source).
"""
from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .. import lecture

MODULES = tuple(m.name for m in lecture.MODULES)
SKIP = ("__MACOSX", "__pycache__")
MAX_ZIP_BYTES = 50 * 2**20        # unpacked, in all
MAX_ZIP_MEMBERS = 2000
MAX_NOTEBOOK_BYTES = 20 * 2**20
MAX_HASH_FILE = 64 * 2**20        # larger files are hashed by size and mtime only
_MARKER = re.compile(r"^\s*#\s*module\s*:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$", re.MULTILINE)


class Unreadable(Exception):
    """A submission that cannot be graded; the message is the reason the gradebook shows."""


@dataclass(frozen=True)
class Submission:
    name: str      # the gradebook's first column
    path: Path     # a folder, a zip or a notebook
    kind: str      # folder, zip, notebook or nbgrader

    def digest(self) -> str:
        """A hash of the submission's content (file names and bytes; links by their target)."""
        return digest(self.path)


def digest(path: Path) -> str:
    h = hashlib.sha256()
    path = Path(path)
    try:
        st = path.lstat()
    except OSError as e:
        return "unreadable:" + type(e).__name__
    if not stat.S_ISDIR(st.st_mode):
        _hash_file(h, path, st)
        return h.hexdigest()
    for dirpath, dirnames, filenames in os.walk(path, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP)
        rel = os.path.relpath(dirpath, path)
        for name in sorted(filenames) + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            full = Path(dirpath, name)
            h.update(f"\0{rel}/{name}\0".encode("utf-8", "surrogateescape"))
            try:
                _hash_file(h, full, full.lstat())
            except OSError as e:
                h.update(f"error:{type(e).__name__}".encode())
    return h.hexdigest()


def _hash_file(h, path: Path, st) -> None:
    if stat.S_ISLNK(st.st_mode):
        h.update(b"link:" + os.fsencode(os.readlink(path)))
    elif not stat.S_ISREG(st.st_mode):
        h.update(b"special")
    elif st.st_size > MAX_HASH_FILE:
        h.update(f"big:{st.st_size}:{st.st_mtime_ns}".encode())
    else:
        try:
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
        except OSError as e:
            h.update(f"error:{type(e).__name__}".encode())


# --------------------------------------------------------------------------- discovery

def _visible(entry: Path) -> bool:
    return not entry.name.startswith((".", "_")) and entry.name not in SKIP


def _entries(folder: Path) -> list[Path]:
    try:
        return sorted((e for e in folder.iterdir() if _visible(e)), key=lambda e: e.name)
    except OSError:
        return []


def _dirs(folder: Path) -> list[Path]:
    return [e for e in _entries(folder) if e.is_dir() and not e.is_symlink()]


def holds_modules(folder: Path) -> bool:
    """The folder itself holds a student module or a notebook."""
    for e in _entries(folder):
        if e.is_file() and (e.suffix == ".ipynb" or (e.suffix == ".py" and e.stem in MODULES)):
            return True
    return False


def _assignment(student: Path, assignment: str | None) -> Path | None:
    """nbgrader's submitted/<student>/<assignment>/: the one assignment folder of a student."""
    if assignment:
        chosen = student / assignment
        return chosen if chosen.is_dir() else None
    inner = [d for d in _dirs(student) if holds_modules(d)]
    return inner[0] if len(inner) == 1 else None


def _is_submitted_tree(folder: Path, assignment: str | None) -> bool:
    students = _dirs(folder)
    return bool(students) and not holds_modules(folder) and all(
        not holds_modules(s) and _assignment(s, assignment) is not None for s in students)


def discover(folder, *, assignment: str | None = None) -> tuple[list[Submission], list[str]]:
    """(the submissions in `folder`, sorted by name; lines about entries that were skipped)."""
    folder = Path(folder)
    if (folder / "submitted").is_dir() and (folder / "nbgrader_config.py").exists():
        folder = folder / "submitted"     # an nbgrader course folder
    found: list[Submission] = []
    skipped: list[str] = []

    def student_tree(tree: Path):
        for student in _dirs(tree):
            found.append(Submission(student.name, _assignment(student, assignment), "nbgrader"))

    if folder.name == "submitted" and _is_submitted_tree(folder, assignment):
        student_tree(folder)
    else:
        for entry in _entries(folder):
            if entry.is_symlink():
                skipped.append(f"{entry.name}: a symbolic link, not followed")
            elif entry.is_dir():
                if holds_modules(entry):
                    found.append(Submission(entry.name, entry, "folder"))
                elif _is_submitted_tree(entry, assignment) and (
                        entry.name == "submitted" or len(_dirs(entry)) > 1):
                    student_tree(entry)
                elif _assignment(entry, assignment) is not None:
                    found.append(Submission(entry.name, _assignment(entry, assignment), "nbgrader"))
                else:
                    found.append(Submission(entry.name, entry, "folder"))   # graded as failed
            elif entry.suffix.lower() == ".zip":
                found.append(Submission(entry.name[:-4], entry, "zip"))
            elif entry.suffix.lower() == ".ipynb":
                found.append(Submission(entry.name[:-6], entry, "notebook"))
            else:
                skipped.append(f"{entry.name}: not a folder, a zip or a notebook")
    # one name per submission: a later namesake keeps its full file or folder name
    out, names = [], set()
    for sub in sorted(found, key=lambda s: (s.name, str(s.path))):
        name = sub.name
        if name in names:
            name = sub.path.name if sub.kind != "nbgrader" else f"{sub.name}-{sub.path.name}"
            n = 2
            while name in names:
                name, n = f"{sub.path.name}-{n}", n + 1
            sub = Submission(name, sub.path, sub.kind)
        names.add(name)
        out.append(sub)
    return sorted(out, key=lambda s: s.name), skipped


def shard(submissions: list[Submission], k: int, n: int) -> list[Submission]:
    """The K-th of N deterministic slices (1-based): every N-th submission by sorted name."""
    ordered = sorted(submissions, key=lambda s: s.name)
    return [s for i, s in enumerate(ordered) if i % n == k - 1]


# --------------------------------------------------------------------------- reading

def materialize(sub: Submission, dest: Path) -> tuple[Path, list[str]]:
    """(a folder holding the submission's student modules, notes on what was left out or broken).
    `dest` is a new folder of the caller's to write into. Raises Unreadable."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if sub.kind == "zip":
        folder = _unzip(sub.path, dest / "unzipped")
    elif sub.kind == "notebook":
        out = dest / "modules"
        out.mkdir()
        notes = _write_modules(read_notebooks([sub.path]), out)
        return _checked(out, notes, sub)
    else:
        folder = sub.path
        if not folder.is_dir():
            raise Unreadable(f"{folder.name} is not a folder")
    return _from_folder(folder, dest / "modules", sub)


def _from_folder(folder: Path, out: Path, sub: Submission) -> tuple[Path, list[str]]:
    have = {m for m in MODULES if (folder / f"{m}.py").is_file()}
    notebooks = [e for e in _entries(folder) if e.is_file() and e.suffix == ".ipynb"]
    if not have and not notebooks:
        if not _entries(folder):
            raise Unreadable("empty: no files at all")
        raise Unreadable("no student module found (expected " +
                         ", ".join(f"{m}.py" for m in MODULES) + ", or notebooks)")
    if not notebooks or have == set(MODULES):
        return _checked(folder, [], sub)   # graded as it is, exactly as `gdkit grade` would
    out.mkdir()
    for m in have:
        shutil.copyfile(folder / f"{m}.py", out / f"{m}.py")
    sources = {m: s for m, s in read_notebooks(notebooks).items() if m not in have}
    return _checked(out, _write_modules(sources, out), sub)


def _checked(folder: Path, notes: list[str], sub: Submission) -> tuple[Path, list[str]]:
    """Notes on modules that are missing or do not compile (compiled, never run)."""
    present = [m for m in MODULES if (folder / f"{m}.py").is_file()]
    if not present:
        raise Unreadable("no student module found" + (f" ({'; '.join(notes)})" if notes else ""))
    for m in MODULES:
        path = folder / f"{m}.py"
        if m not in present:
            notes.append(f"{m}: missing")
            continue
        try:
            compile(path.read_bytes(), f"{m}.py", "exec", dont_inherit=True)
        except SyntaxError as e:
            notes.append(f"{m}.py: SyntaxError: {e.msg} (line {e.lineno})")
        except (ValueError, MemoryError, RecursionError) as e:
            notes.append(f"{m}.py: does not compile: {type(e).__name__}")
    return folder, notes


def _unzip(path: Path, dest: Path) -> Path:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise Unreadable(f"unreadable zip: {e}") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise Unreadable(f"zip holds {len(members)} entries (at most {MAX_ZIP_MEMBERS})")
        if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
            raise Unreadable(f"zip unpacks to more than {MAX_ZIP_BYTES >> 20} MiB")
        dest.mkdir()
        for m in members:
            parts = [p for p in m.filename.replace("\\", "/").split("/") if p not in ("", ".")]
            mode = m.external_attr >> 16
            if not parts or ".." in parts or m.filename.startswith(("/", "\\")) or ":" in parts[0]:
                continue
            if stat.S_ISLNK(mode) or parts[0] in SKIP:
                continue
            target = dest.joinpath(*parts)
            if m.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(m) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
            except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, EOFError) as e:
                raise Unreadable(f"unreadable zip: {m.filename}: {e}") from None
    folder = dest
    for _ in range(3):   # a zip of the folder: descend into its one folder
        if holds_modules(folder):
            break
        inner = _dirs(folder)
        if len(inner) != 1 or [e for e in _entries(folder) if e.is_file()]:
            break
        folder = inner[0]
    if not _entries(dest):
        raise Unreadable("empty zip")
    return folder


# --------------------------------------------------------------------------- notebooks

def _cells(path: Path) -> list[dict]:
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            raise Unreadable(f"{path.name}: larger than {MAX_NOTEBOOK_BYTES >> 20} MiB")
        data = json.loads(path.read_bytes())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise Unreadable(f"{path.name}: not a notebook (not JSON: {type(e).__name__})") from None
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        raise Unreadable(f"{path.name}: not a notebook (no list of cells)")
    return [c for c in cells if isinstance(c, dict)]


def _text(cell: dict) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        return "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def _nbgrader(cell: dict) -> dict:
    meta = cell.get("metadata")
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


def _named_module(text: str) -> str | None:
    found = [m for m in MODULES if re.search(rf"\b{m}\b", text)]
    return found[0] if len(found) == 1 else None


def _imports_only(text: str) -> str:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return ""
    return "\n".join(ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)))


def read_notebooks(paths) -> dict[str, list[str]]:
    """{module: its code cells' sources, in order} of these notebooks. Raises Unreadable."""
    out: dict[str, list[str]] = {}
    for path in sorted(paths, key=lambda p: p.name):
        for module, cells in _notebook(Path(path)).items():
            out.setdefault(module, []).extend(cells)
    if not out:
        names = ", ".join(p.name for p in paths)
        raise Unreadable(f"{names}: no module's code found (name a notebook after its module, or "
                         "mark cells with '# module: <module>')")
    return out


def _notebook(path: Path) -> dict[str, list[str]]:
    cells = _cells(path)
    graded = any(_nbgrader(c).get("solution") for c in cells)
    fixed = path.stem if path.stem in MODULES else None
    shared: list[str] = []
    out: dict[str, list[str]] = {}
    current = fixed
    for cell in cells:
        text, meta = _text(cell), _nbgrader(cell)
        if cell.get("cell_type") == "markdown":
            heading = "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#"))
            current = fixed or _named_module(heading) or current
            continue
        if cell.get("cell_type") != "code":
            continue
        marker = _MARKER.search(text)
        grade_id = str(meta.get("grade_id", ""))
        module = fixed or next((m for m in MODULES if grade_id.startswith(m + "-")), None)
        if module is None and marker and marker.group(1) in MODULES:
            module = current = marker.group(1)
        module = module or current
        code = text if (not graded or meta.get("solution")) else _imports_only(text)
        if module is None:
            shared.append(code)
        else:
            out.setdefault(module, shared[:] if module not in out else []).append(code)
    return out


def _write_modules(sources: dict[str, list[str]], out: Path) -> list[str]:
    from .nbgrader import module_source

    notes = []
    for module, cells in sources.items():
        for i, cell in enumerate(cells):
            try:
                ast.parse(cell)
            except SyntaxError as e:
                notes.append(f"{module} (notebook): a cell with a SyntaxError ({e.msg}, line "
                             f"{e.lineno}) was left out")
            except (ValueError, MemoryError, RecursionError) as e:
                notes.append(f"{module} (notebook): a cell that does not parse ({type(e).__name__}) "
                             "was left out")
        (out / f"{module}.py").write_text(module_source(cells, module, here=out), encoding="utf-8")
    return notes
