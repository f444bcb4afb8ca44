"""data/ against the lecture: datasets, worked values recomputed in float64, and the rubric."""
import csv
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
LECTURE = ROOT / "docs" / "lecture.md"            # the project's copy of the specification
SHARED = ROOT.parent / "shared" / "lecture" / "lecture.md"


def load(name):
    with open(DATA / name, "rb") as f:
        return tomllib.load(f)


WORKED = load("worked_values.toml")
EXAMPLES = {e["id"]: e for e in WORKED["example"]}


def lecture_text():
    return LECTURE.read_text(encoding="utf-8").replace("−", "-")


# --- independent recomputation (deliberately not the grader's code)

def sigma(z):
    return 1 / (1 + math.exp(-z))


def step(model, theta, x, y, lr):
    """z, ŷ, L, ∇θL and the updated θ of one sample, straight from the slides' formulas."""
    z = float(np.dot(theta, x))
    y_hat = z if model == "linear" else sigma(z)
    out = {"z": z, "y_hat": y_hat, "class": int(y_hat >= 0.5)}
    if y is not None:
        if model == "linear":
            out["loss"] = (y_hat - y) ** 2
            grad = 2 * np.asarray(x) * (y_hat - y)
        else:
            out["loss"] = -y * math.log(y_hat) - (1 - y) * math.log(1 - y_hat)
            grad = np.asarray(x) * (y_hat - y)
        out["gradient"] = grad
        if lr is not None:
            out["theta"] = np.asarray(theta) - lr * grad
    return out


@pytest.mark.parametrize("example", WORKED["example"], ids=lambda e: e["id"])
def test_every_exact_value_is_the_float64_recomputation(example):
    got = step(example["model"], example["theta"], example["x"], example.get("y"), example.get("lr"))
    for value in example["value"]:
        expected = got[value["step"]]
        assert np.allclose(value["exact"], expected, rtol=1e-13, atol=0), (
            f"{example['id']} {value['step']}: data says {value['exact']}, recomputed {expected}")


@pytest.mark.parametrize("later, earlier", [
    ("logistic-slide-31", "logistic-slide-26"), ("logistic-slide-32", "logistic-slide-26"),
    ("logistic-slide-49-a", "logistic-slide-38"), ("logistic-slide-49-b", "logistic-slide-38")])
def test_chained_examples_start_from_the_exact_updated_theta(later, earlier):
    theta_after = next(v["exact"] for v in EXAMPLES[earlier]["value"] if v["step"] == "theta")
    assert EXAMPLES[later]["theta"] == theta_after, f"{later} must start from θ after {earlier}"


@pytest.mark.parametrize("run", WORKED["training"], ids=lambda t: t["id"])
def test_training_runs_are_the_five_steps_recomputed(run):
    if run["dataset"] == "inline":
        X, y = np.array(run["X"]), np.array(run["y"])
    else:
        X, y = read_dataset(run["dataset"])
        X, y = X[: run["rows"]], y[: run["rows"]]
    theta, losses = np.array(run["theta"]), []
    for _ in range(run["epochs"]):
        for x_i, y_i in zip(X, y):
            s = step(run["model"], theta, x_i, y_i, run["lr"])
            losses.append(s["loss"])
            theta = s["theta"]
    assert np.allclose(theta, run["theta_exact"], rtol=1e-13), f"{run['id']}: θ {theta}"
    assert np.allclose(losses, run["losses_exact"], rtol=1e-13), f"{run['id']}: losses {losses}"


def read_dataset(name):
    with open(DATA / f"{name}.csv", newline="") as f:
        rows = [[float(v) for v in r] for r in list(csv.reader(f))[1:]]
    table = np.array(rows)
    return np.column_stack([np.ones(len(table)), table[:, :-1]]), table[:, -1]


def lecture_table(title_prefix):
    """The rows of the markdown table that follows the paragraph starting with title_prefix."""
    text = lecture_text()
    start = text.index(title_prefix)
    rows = []
    for line in text[start:].splitlines()[1:]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if not set("".join(cells)) <= set("-"):
                rows.append(cells)
        elif rows:
            break
    return rows


@pytest.mark.parametrize("name, title, columns", [
    ("salary", "Data #0", ["Level", "Salary"]),
    ("pass_fail", "Data #1", ["Hours", "Pass"]),
    ("pass_fail_multi", "Data #2", ["Day", "Hours", "Pass"]),
])
def test_datasets_match_the_lecture_tables(name, title, columns):
    rows = {r[0]: [float(v) for v in r[1:]] for r in lecture_table(title)}
    with open(DATA / f"{name}.csv", newline="") as f:
        table = list(csv.reader(f))
    assert len(table[0]) == len(columns), f"{name}.csv has columns {table[0]}"
    data = np.array([[float(v) for v in r] for r in table[1:]])
    for i, column in enumerate(columns):
        assert list(data[:, i]) == rows[column], f"{name}.csv column {column} differs from lecture.md"


@pytest.mark.parametrize("example", WORKED["example"], ids=lambda e: e["id"])
def test_every_slide_figure_is_quoted_from_the_lecture(example):
    text = lecture_text()
    for value in example["value"]:
        figure = value["figure"].replace("−", "-")
        assert figure in text, f"{example['id']} {value['step']}: figure {figure!r} not in lecture.md"


@pytest.mark.parametrize("example", [e for e in WORKED["example"] if e["model"] == "logistic"
                                     and e["id"] != "logistic-slide-36-a" and e["id"] != "logistic-slide-36-b"],
                         ids=lambda e: e["id"])
def test_logistic_exact_values_agree_with_the_lecture_to_six_places(example):
    text = lecture_text()
    for value in example["value"]:
        if value["step"] in ("class",) or (example["id"].startswith("logistic-slide-49") and value["step"] != "z"):
            continue
        for v in np.atleast_1d(value["exact"]):
            shown = f"{v:.6f}".rstrip("0").rstrip(".") if abs(v * 1e6 - round(v * 1e6)) < 1e-6 else f"{v:.6f}"
            assert f"{v:.6f}" in text or shown in text, (
                f"{example['id']} {value['step']}: {v:.6f} not in lecture.md's exact column")


def lecture_errata():
    """{number: the erratum's text} from lecture.md's Errata section."""
    text = lecture_text()
    section = text[text.index("## Errata"):text.index("## Symbolic")]
    return {int(n): body for n, body in re.findall(r"^(\d+)\. (.*)$", section, flags=re.M)}


def test_errata_cited_by_worked_values_exist_in_the_lecture():
    errata = lecture_errata()
    cited = {v["erratum"] for e in WORKED["example"] for v in e["value"] if "erratum" in v}
    assert cited and cited <= set(errata), f"cited {cited}, lecture has {sorted(errata)}"


def test_the_errata_summaries_are_the_lectures_by_number_and_slide():
    errata = lecture_errata()
    summaries = {int(k): v for k, v in WORKED["errata"].items()}
    assert set(summaries) == set(errata), f"data has {sorted(summaries)}, lecture {sorted(errata)}"
    for number, summary in summaries.items():
        slides = re.findall(r"\d+", re.match(r"Slides? ([\d and]+)", errata[number]).group(1))
        assert all(f" {s}" in f" {summary}" for s in slides), (
            f"erratum {number} is about slide(s) {slides} in lecture.md, but the data says {summary!r}")


def test_rubric_gives_100_points_and_style_within_points():
    rubric = load("rubric.toml")
    total = sum(f["points"] for m in rubric.values() for f in m.values())
    assert total == 100, f"the rubric totals {total}, not 100"
    for module, functions in rubric.items():
        for name, f in functions.items():
            assert 0 <= f.get("style", 0) <= f["points"], f"{module}.{name}: style exceeds points"


def test_grader_loads_the_same_data():
    from autograder import lecture

    assert len(lecture.examples()) == len(WORKED["example"])
    assert sum(p.points for p in lecture.rubric().values()) == 100
    X, y = lecture.dataset("pass_fail_multi")
    assert X.shape == (8, 3) and list(X[:, 0]) == [1.0] * 8, "X must carry the bias column"


def test_project_copy_of_the_lecture_is_current():
    if not SHARED.exists():
        pytest.skip("the shared lecture folder is not beside this checkout")
    assert LECTURE.read_text(encoding="utf-8") == SHARED.read_text(encoding="utf-8"), (
        "docs/lecture.md differs from the shared lecture.md: copy it again")
