"""A submission cannot forge its score: the adversarial corpus, graded through the command line.

Every attack of tests/adversarial/attacks.py is built into a copy of solutions/ and graded with
`python -m autograder grade` in a subprocess, under every isolation layer that works here (the
others are skipped with the reason). For each one:

- grading completes: the grader exits 0 or 1, without a traceback or a grader fault;
- the report file is the grader's own: at the --output path, parseable, holding exactly the
  selected checks with the rubric's points, a score that is their sum and matches the score the
  grader printed on stderr, no forged text, and it is still the same a moment later;
- the attack scores no more than its honest twin (the same code without the attack);
- nothing is left behind: no process carrying the run's token, no stray report in the report's
  folder, no file outside the stage, no connection to the test's listener, no change to the
  grader's data or solutions.

The gradings of all selected tests are queued when the first one runs and done a few at a time
(GDKIT_TEST_JOBS, default 3: each is a subprocess that mostly waits); each test then only checks
its own result.
"""
from __future__ import annotations

import json
import os
import socket
import threading

import pytest

from adversarial import harness as H
from adversarial.attacks import ATTACKS
from autograder import sandbox

LAYERS = sandbox.LAYERS
GUARDED = sorted([*(H.REPO / "data").glob("*"), *(H.REPO / "solutions").glob("*.py")])


@pytest.fixture(scope="session")
def layers():
    return {layer: H.layer_env(layer) for layer in LAYERS}


def layer_or_skip(layers, layer):
    env, reason = layers[layer]
    if reason is not None:
        pytest.skip(f"{layer} layer unavailable: {reason}")
    return env


@pytest.fixture(scope="session")
def listener():
    """A local TCP server; `seen` collects what any connection sent."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    seen = []

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.settimeout(1)
            try:
                seen.append(conn.recv(4096))
            except OSError:
                seen.append(b"")
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1], seen
    server.close()


@pytest.fixture(scope="session")
def guarded_files():
    return H.digest(GUARDED)


def runnable(attack, layer, layers) -> bool:
    return layers[layer][1] is None and (attack.layers is None or layer in attack.layers)


def grade_loops(root, env):
    """Every function of every module loops forever; default timeout and budget."""
    sub = H.build_loops(root / "loops")
    return H.cli(sub, root / "loops.json", layer="auto", fmt="json", timeout=None,
                 env_extra=env, limit=180)


def grade_solutions(root, layer, env):
    return H.verify(H.cli(H.SOLUTIONS, root / f"solutions-{layer}.json", layer=layer,
                          timeout=None, env_extra=env), None)


@pytest.fixture(scope="session")
def corpus(request, layers, listener, guarded_files, tmp_path_factory):
    port, seen = listener
    jobs = int(os.environ.get("GDKIT_TEST_JOBS", "3"))
    root = tmp_path_factory.mktemp("corpus")
    corpus = H.Corpus(root / "runs", layers, port, seen, jobs)
    corpus.extra = {}
    names = {item.originalname for item in request.session.items}
    if "test_every_function_loops_forever" in names:  # the longest: first
        strongest = sandbox.strongest()
        env = layers[strongest][0] or {}
        corpus.extra["loops"] = corpus.submit(grade_loops, root, env)
    for item in request.session.items:  # queue every selected test's grading, in test order
        params = getattr(getattr(item, "callspec", None), "params", {})
        if item.originalname == "test_attack" and runnable(params["attack"], params["layer"], layers):
            corpus.schedule(params["attack"], params["layer"])
        if item.originalname == "test_valid_submission_scores_full_marks" and \
                layers[params["layer"]][1] is None:
            corpus.extra[params["layer"]] = corpus.submit(grade_solutions, root, params["layer"],
                                                          layers[params["layer"]][0])
    yield corpus
    corpus.close()


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("attack", ATTACKS, ids=[a.id for a in ATTACKS])
def test_attack(attack, layer, layers, corpus, request):
    layer_or_skip(layers, layer)
    if attack.layers is not None and layer not in attack.layers:
        pytest.skip(attack.why)
    if layer in attack.leaks:
        request.applymarker(pytest.mark.xfail(reason=attack.leaks[layer], strict=True))
    failures = corpus.failures(attack, layer)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("layer", LAYERS)
def test_valid_submission_scores_full_marks(layer, layers, corpus):
    """The reference solution gets 100/100 under every layer, with the default timeout."""
    layer_or_skip(layers, layer)
    graded = corpus.extra[layer].result()
    assert not graded.problems, graded.describe()
    assert graded.score == 100, graded.describe()


def test_every_function_loops_forever(corpus):
    """With default settings (2 s per call), a submission whose every function loops forever is
    graded in under 60 s: each function waits out one timeout, its other checks (and the
    NumPy-free worker's checks of the same function) fail at once; where the restarts after each
    timeout eat into a function's share of the budget, its call is cut short as over budget.
    Measured while the corpus runs beside it, so on an idle machine it is faster still."""
    graded = corpus.extra["loops"].result()
    assert graded.returncode == 0 and graded.text, graded.describe()
    doc = json.loads(graded.text)
    assert graded.seconds < 60, graded.describe()
    assert doc["score"] == 0 and {c["status"] for c in doc["checks"]} <= {"timeout", "skipped"}
    assert all("budget" in c["message"] for c in doc["checks"] if c["status"] == "skipped")
    functions = {(c["module"], c["function"]) for c in doc["checks"]}
    waited = [c["id"] for c in doc["checks"]  # the calls that really waited out a timeout
              if "no answer within" in c["message"] and "timed out earlier" not in c["message"]]
    assert len(functions) == 17 and len(waited) <= len(functions), waited


def test_grader_files_untouched(guarded_files):
    """No attack changed the grader's data or solutions (this runs after the corpus)."""
    assert H.digest(GUARDED) == guarded_files
