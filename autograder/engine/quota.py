"""The files a submission may leave in its stage's tmp/ (under the uid and process layers that is
the real disk; under bwrap, a tmpfs of the same size)."""
from __future__ import annotations

import os
from pathlib import Path

TMP_LIMIT = 64 << 20  # bytes


def usage(folder, limit: int) -> int:
    """Bytes of the files under `folder` (stops counting once past `limit`); entries count too.
    An explicit stack, no recursion: a submission may nest folders thousands deep."""
    total, todo = 0, [str(folder)]
    while todo and total <= limit:
        try:
            with os.scandir(todo.pop()) as entries:
                for entry in entries:
                    total += 4096
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            todo.append(entry.path)
                        else:
                            total += entry.stat(follow_symlinks=False).st_blocks * 512
                    except OSError:
                        pass
        except OSError:
            pass
    return total
