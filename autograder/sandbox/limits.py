"""Resource limits of a worker, set in the child before exec and inherited by what it starts."""
from __future__ import annotations

import resource
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    memory: int = 1 << 30  # RLIMIT_AS, bytes (1 GiB)
    cpu: int = 120  # RLIMIT_CPU, seconds of CPU for one worker's life
    nproc: int = 64  # RLIMIT_NPROC: per worker in the uid/bwrap layers (its own uid); not set in process
    fsize: int = 16 << 20  # RLIMIT_FSIZE, bytes
    nofile: int = 256  # RLIMIT_NOFILE
    # core dumps always off (RLIMIT_CORE = 0)

    def pairs(self, *, nproc: bool) -> list[tuple[int, int]]:
        """(resource, value) to set as soft and hard limit; RLIMIT_NPROC only where it binds (a
        worker uid of its own: as root it would bind nothing)."""
        pairs = [
            (resource.RLIMIT_AS, self.memory),
            (resource.RLIMIT_CPU, self.cpu),
            (resource.RLIMIT_FSIZE, self.fsize),
            (resource.RLIMIT_NOFILE, self.nofile),
            (resource.RLIMIT_CORE, 0),
        ]
        if nproc:
            pairs.append((resource.RLIMIT_NPROC, self.nproc))
        return pairs

    def setter(self, *, nproc: bool):
        """A function for the child between fork and exec that sets them (it allocates nothing)."""
        pairs = self.pairs(nproc=nproc)

        def apply() -> None:
            for res, value in pairs:
                resource.setrlimit(res, (value, value))

        return apply
