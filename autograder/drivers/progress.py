"""The progress of a batch on stderr: a rich progress bar on a terminal (counts of graded, failed
and remaining, and an ETA), plain lines otherwise (a CI log). Colour follows rich, which honours
NO_COLOR (and FORCE_COLOR, TERM=dumb)."""
from __future__ import annotations

import os
import sys


class Progress:
    def __init__(self, stream=None):
        from rich.console import Console

        self.console = Console(file=stream or sys.stderr, no_color="NO_COLOR" in os.environ or None,
                               highlight=False)
        self.live = self.console.is_terminal and not self.console.is_dumb_terminal
        self.bar = None
        self.total = self.kept = self.graded = self.failed = 0

    def note(self, line: str) -> None:
        if self.bar is not None:
            self.bar.console.print(line, markup=False)
        else:
            self.console.print(f"gdkit: {line}", markup=False, soft_wrap=True)

    def start(self, total: int, kept: int) -> None:
        self.total, self.kept = total, kept
        if kept:
            self.note(f"{kept} of {total} submissions already graded (kept from an earlier run)")
        if not self.live or total == kept:
            return
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        self.bar = Bar(TextColumn("grading"), BarColumn(), MofNCompleteColumn(),
                       TextColumn("graded [green]{task.fields[graded]}[/] failed "
                                  "[red]{task.fields[failed]}[/] remaining {task.fields[remaining]}"),
                       TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                       console=self.console, auto_refresh=False, transient=False)
        self.bar.start()
        self.task = self.bar.add_task("grading", total=total - kept, graded=0, failed=0,
                                      remaining=total - kept)

    def done(self, rec: dict, seconds: float) -> None:
        if rec["status"] == "graded":
            self.graded += 1
        else:
            self.failed += 1
        left = self.total - self.kept - self.graded - self.failed
        if self.bar is not None:
            self.bar.update(self.task, advance=1, graded=self.graded, failed=self.failed,
                            remaining=left)
            self.bar.refresh()
            return
        what = (f"{rec['total']}/100" if rec["status"] == "graded" else "FAILED")
        extra = f" ({rec['error']})" if rec["error"] else ""
        self.console.print(f"gdkit: [{self.graded + self.failed + self.kept}/{self.total}] "
                           f"{rec['name']}: {what}{extra} in {seconds:.1f} s; graded "
                           f"{self.graded}, failed {self.failed}, remaining {left}",
                           markup=False, soft_wrap=True)

    def finish(self, records) -> None:
        self.close()
        failed = sum(r["status"] != "graded" for r in records)
        self.console.print(f"gdkit: {len(records)} submissions: {len(records) - failed} graded, "
                           f"{failed} could not be graded", markup=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
