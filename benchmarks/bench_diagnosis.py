"""How often the feedback names the mistake: the corpus of common mistakes, graded, scored.

    python benchmarks/bench_diagnosis.py [--seed 0] [--only ID-FRAGMENT] [--verbose]

Grades every entry of tests/corpus/mistakes.py (solutions/ with one function replaced) and
prints, per entry, whether a failed check of the wrong function carries the hint the entry
expects (a specific, correct diagnosis) and whether any hint of the report is one the entry
names as misleading. The last line is the share of wrong functions with a specific, correct
diagnosis; an entry that expects no hint counts as undiagnosed. tests/test_corpus.py asserts the
same share as a floor.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from autograder.engine.grader import grade  # noqa: E402
from corpus.build import build  # noqa: E402
from corpus.mistakes import MISTAKES  # noqa: E402


def verdict(mistake, report):
    """(diagnosed, misleading hints, the hints of the wrong function's failed checks)."""
    target = [c for c in report.checks if c.module == mistake.module
              and c.function == mistake.function and not c.passed]
    hints = [c.hint for c in target if c.hint]
    misleading = [c.hint for c in report.checks for f in mistake.not_hints if f in (c.hint or "")]
    named = mistake.hint is not None and any(mistake.hint in h for h in hints)
    return named and not misleading, misleading, hints


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", default="")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args(argv)
    entries = [m for m in MISTAKES if args.only in m.id]
    good = 0
    with tempfile.TemporaryDirectory() as tmp:
        for m in entries:
            folder = build(Path(tmp) / m.id, functions={(m.module, m.function): m.code})
            ok, misleading, hints = verdict(m, grade(folder, seed=args.seed))
            good += ok
            print(f"{'ok ' if ok else 'NO '} {m.id}" + ("" if ok and not args.verbose else
                  f"\n      expects: {m.hint!r}" + "".join(f"\n      hint: {h}" for h in hints)
                  + "".join(f"\n      MISLEADING: {h}" for h in misleading)), flush=True)
    print(f"diagnosed: {good}/{len(entries)} = {good / max(1, len(entries)):.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
