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

import os
import socket
import threading

import pytest

from adversarial import harness as H
from adversarial.attacks import ATTACKS
from autograder import isolation

LAYERS = isolation.LAYERS
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


@pytest.fixture(scope="session")
def corpus(request, layers, listener, guarded_files, tmp_path_factory):
    port, seen = listener
    jobs = int(os.environ.get("GDKIT_TEST_JOBS", "3"))
    corpus = H.Corpus(tmp_path_factory.mktemp("corpus"), layers, port, seen, jobs)
    for item in request.session.items:  # queue every selected test's grading, in test order
        params = getattr(getattr(item, "callspec", None), "params", {})
        if item.originalname == "test_attack" and runnable(params["attack"], params["layer"], layers):
            corpus.schedule(params["attack"], params["layer"])
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
def test_valid_submission_scores_full_marks(layer, layers, tmp_path):
    """The reference solution gets 100/100 under every layer, with the default timeout."""
    env = layer_or_skip(layers, layer)
    out = tmp_path / "results.json"
    graded = H.verify(H.cli(H.SOLUTIONS, out, layer=layer, timeout=None, env_extra=env), None)
    assert not graded.problems, graded.describe()
    assert graded.score == 100, graded.describe()


def test_grader_files_untouched(guarded_files):
    """No attack changed the grader's data or solutions (this runs after the corpus)."""
    assert H.digest(GUARDED) == guarded_files
