"""The worker processes of one submission: one stage (a private copy of the submission), the
main session, and a second one where NumPy cannot be imported (for the basic module's style
checks). The first is launched when grading starts, so that it imports NumPy while the grader
loads its checks; the second (`launch_second`) once the grader knows its checks need it: they run
last, so that it is ready by then without competing with both NumPy imports for the CPU."""
from __future__ import annotations

import threading

from .. import sandbox
from .session import WORKER_SCRIPT, Session, WorkerFault
from .budget import Budget

__all__ = ["Workers", "WorkerFault"]


class Workers:
    def __init__(self, submission, policy):
        self.submission, self.policy = submission, policy
        self.budget = Budget(policy.budget)   # one budget, and one record of timeouts, for both
        self.layer = sandbox.strongest() if policy.layer == "auto" else policy.layer
        self.limits = policy.limits or sandbox.Limits()
        self.memory = self.limits.memory
        self.stage = sandbox.make_stage(WORKER_SCRIPT, submission)
        self.sessions = {}
        try:
            self.session(False).launch()
        except BaseException:
            self.close()
            raise

    def session(self, no_numpy=False) -> Session:
        if no_numpy not in self.sessions:
            self.sessions[no_numpy] = Session(
                self.submission, layer=self.layer, limits=self.limits, timeout=self.policy.timeout,
                block_numpy=no_numpy, stage=self.stage, budget=self.budget)
        return self.sessions[no_numpy]

    def launch_second(self) -> None:
        """Start the NumPy-less worker now, without waiting for it."""
        self.session(True).launch()

    def functions(self, module) -> dict:
        """The functions `module` defines, with their signatures, as its import listed them."""
        return self.sessions[False].functions.get(module, {}) if False in self.sessions else {}

    def notes(self) -> list[str]:
        """What the report should say to the instructor: the layer's limits, files left out."""
        out = []
        if self.layer == "process":
            out.append("isolation: a plain process (no sandbox). Fine for your own code; to grade "
                       "other people's code, install bubblewrap (see docs/isolation.md)")
        else:
            exposed = sandbox.exposed(self.layer)
            if exposed:
                out.append(f"isolation {self.layer}: the worker's uid could read the grader's "
                           f"files in {', '.join(exposed)}; close this with chmod -R o-rwx on "
                           "them (docs/isolation.md)")
        hello = self.sessions[False].hello if False in self.sessions else {}
        if hello and not hello.get("landlock"):
            out.append("the kernel's Landlock rules were not applied to the worker ("
                       f"{str(hello.get('landlock_error') or 'not available')[:200]}): its file "
                       "access rests on the sandbox layer and the in-process guard alone")
        left_out = self.stage.left_out if self.stage is not None else []
        if left_out:
            shown = "; ".join(left_out[:10]) + (f"; and {len(left_out) - 10} more"
                                                if len(left_out) > 10 else "")
            out.append(f"not copied into the grading stage: {shown}")
        return out

    def close(self):
        """Stop both workers at once (each stop waits for its sandbox to go), then the stage."""
        stopping = [threading.Thread(target=session.close) for session in self.sessions.values()]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()
        self.sessions.clear()
        if self.stage is not None:
            self.stage.close()
            self.stage = None
