"""``python -m mnist_helpers review``: a class's returned notebooks, re-checked without trusting or changing them.

One folder of 32 generated submissions (notebooks 3 and 4, the fastest) is reviewed once, by the command line, with
two jobs, a short time limit and a low memory limit; each test reads what it wrote.
"""

import copy
import csv
import hashlib
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from exercise_tables import names_of

from mnist_helpers.course import review, review_input
from mnist_helpers.course.folders import OutputFolderError
from mnist_helpers.course.review_report import category, file_name, index_html
from mnist_helpers.course.review_worker import Restorer, read_results
from mnist_helpers.course.student import student_notebook

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TIMEOUT = 40  # seconds per notebook in the test (notebook 3 takes about 7 s alone)
MEMORY = "1.5"  # GiB: enough for notebooks 3 and 4, far below 20 GB


def teacher(name: str):
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def answered(name: str, answers: dict[str, str]):
    """The student edition of ``name`` with ``answers`` ("q1": source) in its answer cells."""
    nb = student_notebook(teacher(name))
    for cell, exercise in review_input.exercise_cells(nb):
        if exercise in answers:
            cell.source = answers[exercise]
    return nb


def q1(body: str) -> str:
    return f"def count_parameters(inputs, outputs):\n    return {body}\n"


def q2(body: str) -> str:
    return f"def flatten(images):\n    return {body}\n"


def q3(forward: str, inputs: str = "3 * 32 * 32") -> str:
    """A ColourModel whose layer takes ``inputs`` and whose forward returns ``forward`` (of ``xb``)."""
    return (f"class ColourModel(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            f"        self.linear = nn.Linear({inputs}, 10)\n\n    def forward(self, xb):\n        return {forward}\n")


# Magics, a figure and display in an answer cell work as in Jupyter (figures drawn with Agg).
FIGURE = "%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.plot([0, 1])\nplt.show()\ndisplay('a line')\n"
RIGHT = [  # notebook 3, right answers in several idioms (from tests/answers/nb03.py)
    (q1("inputs * outputs + outputs"), q2("images.reshape(-1, 784)"), q3("self.linear(xb.reshape(-1, 3 * 32 * 32))")),
    (q1("(inputs + 1) * outputs"), q2("images.view(len(images), -1)"), q3("self.linear(xb.flatten(1))", "3072")),
    (FIGURE + q1("float(inputs * outputs + outputs)"), q2("images.flatten(1)"),
     q3("self.linear(xb.view(xb.size(0), -1))")),
    (q1("torch.tensor(inputs * outputs + outputs)"), "%%time\n" + q2("torch.flatten(images, start_dim=1)"),
     q3("self.linear(torch.flatten(xb, 1))")),
]
MISTAKES = [  # notebook 3: each typical mistake of each exercise, one of each per notebook
    ((q1("inputs * outputs"), "weights-only"), (q2("images.reshape(-1, 28)"), "rows-of-pixels"),
     (q3("self.linear(xb.reshape(-1, 1024))", "1024"), "one-channel")),
    ((q1("inputs + outputs"), "added-sizes"), (q2("images.reshape(784, -1)"), "images-in-columns"),
     (q3("self.linear(xb.reshape(-1, 784))", "784"), "mnist-size")),
    ((q1("inputs * outputs + inputs"), "bias-per-input"), (q2("images.flatten()"), "flattened-batch"),
     (q3("self.linear(xb)"), "no-flatten")),
    ((q1("inputs * outputs + 1"), "one-bias"), (q2("images.reshape(len(images), 28, 28)"), "wrong-shape"),
     (q3("self.linear(xb.reshape(128, -1))"), "fixed-batch")),
    ((q1("7850"), "constant-answer"), (q2("images.reshape(-1, 784).double()"), "changed-dtype"),
     (q3("self.linear(xb.reshape(-1, 3072)).softmax(dim=1)"), "softmax-at-end")),
    ((q1("sum(p.numel() for p in nn.Linear(inputs, outputs).parameters())"), "uses-nn-linear"),
     (q2("images.transpose(2, 3).reshape(-1, 784)"), "pixel-order"),
     (q3("self.linear(xb.reshape(-1, 3072)).squeeze()"), "wrong-shape")),
]
NB04_MISTAKES = {"q1": ("def predict(outputs):\n    return outputs.argmin(dim=1)\n", "smallest"),
                 "q2": ("def softmax(outputs):\n    e = torch.exp(outputs)\n"
                        "    return e / e.sum(dim=1, keepdim=True)\n", "no-shift"),
                 "q3": ("def stable_cross_entropy(outputs, labels):\n    return F.cross_entropy(F.softmax(outputs, "
                        "dim=1), labels)\n", "softmax-twice")}
Q03 = names_of("nb03")  # the exercises of notebook 3, ["q1", "q2", "q3"]
ALL_RIGHT, ALL_BLANK = ("correct",) * len(Q03), ("not-answered",) * len(Q03)
assert len(names_of("nb04")) == len(Q03)  # ALL_RIGHT serves notebook 4 too


def write(nb, path: Path, modified: float | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    if modified is not None:
        os.utime(path, (modified, modified))


def make_submissions(folder: Path) -> dict[str, object]:
    """Write the class's submissions into ``folder``; return what each file should get (by its name)."""
    expected: dict[str, object] = {}
    for number, answers in enumerate(RIGHT):
        write(answered("03_model", dict(zip(Q03, answers, strict=True))),
              folder / f"right{number}" / "03_model.ipynb")
        expected[f"right{number}/03_model.ipynb"] = ALL_RIGHT
    for number, answers in enumerate(MISTAKES):
        write(answered("03_model", {q: source for q, (source, _) in zip(Q03, answers, strict=True)}),
              folder / f"mistakes{number}" / "notebook 3 (1).ipynb")
        expected[f"mistakes{number}/notebook 3 (1).ipynb"] = tuple(kind for _, kind in answers)
    for number in range(3):  # the student edition as handed out
        write(student_notebook(teacher("03_model")), folder / f"blank{number}" / "03_model.ipynb")
        expected[f"blank{number}/03_model.ipynb"] = ALL_BLANK
    for number in range(4):  # notebook 4: the teacher's answers, renamed; and its typical mistakes
        write(teacher("04_softmax_cross_entropy"), folder / f"right{number}" / "lesson4.ipynb")
        expected[f"right{number}/lesson4.ipynb"] = ALL_RIGHT
    write(answered("04_softmax_cross_entropy", {q: source for q, (source, _) in NB04_MISTAKES.items()}),
          folder / "mistakes0" / "04.ipynb")
    expected["mistakes0/04.ipynb"] = tuple(kind for _, kind in NB04_MISTAKES.values())

    right = dict(zip(Q03, RIGHT[0], strict=True))
    write(answered("03_model", {**right, "q2": "import time\nwhile True:\n    time.sleep(1)\n"}),
          folder / "sleeper" / "03_model.ipynb")
    expected["sleeper/03_model.ipynb"] = ("correct", "timed-out", None)
    write(answered("03_model", {**right, "q1": "hog = bytearray(20 * 2**30)\n" + right["q1"]}),
          folder / "hog" / "03_model.ipynb")
    expected["hog/03_model.ipynb"] = ("raised", "correct", "correct")
    write(answered("03_model", {**right, "q2": "import os\nos._exit(0)\n"}), folder / "quitter" / "03_model.ipynb")
    expected["quitter/03_model.ipynb"] = ("correct", None, None)

    edited = answered("03_model", {})  # blank answers, check cells edited to print "Correct"
    for cell in edited.cells:
        if "check" in cell.metadata.get("tags", []):
            cell.source = 'print("Correct: well done")'
            cell.outputs = [nbformat.v4.new_output("stream", text="Correct: well done\n")]
    write(edited, folder / "printer" / "03_model.ipynb")
    expected["printer/03_model.ipynb"] = ALL_BLANK
    write(answered("03_model", {
        "q1": "exercises.q1.check = lambda *a: print('Correct')\n" + q1("0"),
        "q2": "import mnist_helpers.exercises as e\nfrom mnist_helpers.exercises.verdicts import Verdict\n"
              "e.nb03.q2 = None\ntype(exercises.q3).verdict = lambda self, a: Verdict(self.exercise, self.exercise "
              "+ '/correct', 'Correct')\n" + q2("images"),
        "q3": "exercises = None\n" + q3("self.linear(xb.reshape(-1, 784))", "784")}),
          folder / "patcher" / "03_model.ipynb")
    expected["patcher/03_model.ipynb"] = ("not-yet", "wrong-shape", "mnist-size")

    old = answered("03_model", right)  # an older version: lesson cells edited, ids changed, q3's answer missing
    for cell in old.cells:
        cell["id"] = "old-" + cell["id"]
        if cell.cell_type == "markdown" and cell.source.startswith("## "):
            cell.source = cell.source.replace("## ", "## Part: ", 1)
    old.cells = [c for c in old.cells if not ("solution" in c.metadata.get("tags", []) and "ColourModel" in c.source)]
    write(old, folder / "older" / "03_model.ipynb")
    expected["older/03_model.ipynb"] = ("correct", "correct", "not-answered")

    now = time.time()  # one learner handed notebook 3 in twice: the newer copy is reviewed
    write(student_notebook(teacher("03_model")), folder / "twice" / "03_model.ipynb", now - 3600)
    write(answered("03_model", right), folder / "twice" / "03_model (2).ipynb", now)
    expected["twice/03_model (2).ipynb"] = ALL_RIGHT
    expected["twice/03_model.ipynb"] = "an older copy of 03_model by twice"

    (folder / "broken").mkdir()
    (folder / "broken" / "03_model.ipynb").write_text('{"cells": [', encoding="utf-8")
    expected["broken/03_model.ipynb"] = "not valid JSON"
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# My holiday photos, sorted by year"),
                                            nbformat.v4.new_code_cell("print('hello')")])
    write(other, folder / "stranger" / "03_model.ipynb")
    expected["stranger/03_model.ipynb"] = "not a notebook of the course"
    (folder / "stranger" / "notes.txt").write_text("my notes\n", encoding="utf-8")
    expected["stranger/notes.txt"] = "not a notebook file (.txt)"
    (folder / "json.ipynb").write_text('{"just": "json"}', encoding="utf-8")
    expected["json.ipynb"] = "not a Jupyter notebook"
    return expected


def snapshot(folder: Path) -> dict[str, tuple[str, float]]:
    """Every file below ``folder``: its SHA-256 and its modification time."""
    return {p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def run_review(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mnist_helpers", "review", *map(str, args), "--jobs", "2",
                           "--timeout", str(TIMEOUT), "--memory", MEMORY], capture_output=True, text=True,
                          encoding="utf-8", env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=900)


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory, data_root):
    folder = tmp_path_factory.mktemp("class")
    submissions, out = folder / "submissions", folder / "report"
    expected = make_submissions(submissions)
    before = snapshot(submissions)
    start = time.perf_counter()
    proc = run_review(submissions, "--out", out)
    seconds = time.perf_counter() - start
    return {"submissions": submissions, "out": out, "expected": expected, "before": before, "proc": proc,
            "seconds": seconds}


def reviewed_cells(reviewed) -> int:
    """The heat map's cells: one per exercise of each notebook reviewed to the end or stopped (25 of them)."""
    verdicts = [kinds for kinds in reviewed["expected"].values() if not isinstance(kinds, str)]
    assert len(verdicts) == 25
    return sum(len(kinds) for kinds in verdicts)


def rows_of(out: Path) -> dict[str, list[dict]]:
    with open(out / "verdicts.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    by_file: dict[str, list[dict]] = {}
    for row in rows:
        by_file.setdefault(row["file"], []).append(row)
    return by_file


@pytest.mark.slow  # runs 25 notebooks
def test_every_submission_gets_its_rows(reviewed):
    proc = reviewed["proc"]
    assert proc.returncode == 0, proc.stderr
    assert len(reviewed["expected"]) >= 30
    rows = rows_of(reviewed["out"])
    assert set(rows) == set(reviewed["expected"])
    for file, expected in reviewed["expected"].items():
        if isinstance(expected, str):  # not reviewed: one row with the reason
            [row] = rows[file]
            assert row["verdict"] == "" and expected in row["line"], (file, row)
            continue
        number = "04" if "04" in file or "lesson4" in file else "03"
        got = [row["verdict"] for row in rows[file]]
        assert got == [f"{number}.{i}/{kind}" if kind else "" for i, kind in enumerate(expected, 1)], file
        assert {row["notebook"] for row in rows[file]} == {"03_model" if number == "03" else
                                                           "04_softmax_cross_entropy"}


@pytest.mark.slow
def test_limits_and_crashes_are_reported_in_their_rows(reviewed):
    rows = rows_of(reviewed["out"])
    sleeper = rows["sleeper/03_model.ipynb"]
    assert f"time limit ({TIMEOUT} s)" in sleeper[1]["line"]
    assert sleeper[2]["line"] == f"not run: timed out after {TIMEOUT} s"
    hog = rows["hog/03_model.ipynb"][0]
    assert hog["note"] == "the answer cell ran out of memory (limit 1.5 GiB)" and "out of memory" in hog["line"]
    quitter = rows["quitter/03_model.ipynb"]
    assert [row["line"] for row in quitter[1:]] == ["not run: the notebook stopped its own process (exit status 0)"] * 2
    older = rows["older/03_model.ipynb"][2]
    assert "no answer cell for this exercise" in older["note"]
    assert "the newest, twice/03_model (2).ipynb, was reviewed" in rows["twice/03_model.ipynb"][0]["line"]
    assert [row["attempt"] for row in rows["right0/03_model.ipynb"]] == ["1"] * 3


@pytest.mark.slow
def test_the_submissions_are_never_changed(reviewed):
    assert snapshot(reviewed["submissions"]) == reviewed["before"]
    assert not list(reviewed["submissions"].rglob(".ipynb_checkpoints"))


@pytest.mark.slow
def test_the_report_page_and_feedback(reviewed):
    out = reviewed["out"]
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page and "<script" not in page and "<link" not in page
    assert page.count('class="cell"') == reviewed_cells(reviewed)  # a cell per exercise of each notebook reviewed
    for shown in ("correct", "not yet", "not answered", "not run"):
        assert f'data-category="{shown}"' in page
    assert 'data-exercise="03.2"' in page and "03.2/rows-of-pixels" in page
    assert "reshape(-1, 28) keeps rows of pixels" in page  # the teacher's note from the catalog
    assert re.search(r"<tr><td>stranger</td><td>stranger/03_model.ipynb</td><td>not a notebook of the course", page)
    feedback = (out / "feedback" / "mistakes0.md").read_text(encoding="utf-8")
    assert "03.2" in feedback and "Hint: reshape changes the shape" in feedback
    assert "reshape(-1, 784)" not in (out / "feedback" / "blank0.md").read_text(encoding="utf-8")
    state = json.loads((out / review.STATE).read_text(encoding="utf-8"))
    assert {entry["file"] for entry in state} == set(reviewed["expected"])


@pytest.mark.slow
def test_a_second_review_runs_nothing_and_a_changed_one_runs_again(reviewed):
    out, submissions = reviewed["out"], reviewed["submissions"]
    first = (out / "verdicts.csv").read_bytes()
    again = run_review(submissions, "--out", out)
    assert again.returncode == 0, again.stderr
    assert "reviewing 0 notebooks" in again.stderr and "(25 reviewed earlier and unchanged)" in again.stderr
    assert (out / "verdicts.csv").read_bytes() == first
    assert snapshot(submissions) == reviewed["before"]


@pytest.mark.slow
def test_a_zip_of_the_class(tmp_path, data_root):
    folder = tmp_path / "class"
    write(teacher("03_model"), folder / "ada" / "mine.ipynb")
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(folder.rglob("*")):
            z.write(path, Path("download") / path.relative_to(folder))
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    proc = run_review(archive, "--out", tmp_path / "report")
    assert proc.returncode == 0, proc.stderr
    assert [row["verdict"] for row in rows_of(tmp_path / "report")["ada/mine.ipynb"]] == [
        "03.1/correct", "03.2/correct", "03.3/correct"]
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == digest


def test_an_unsafe_zip_is_refused(tmp_path):
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../evil.ipynb", "{}")
    with pytest.raises(review_input.ReviewError, match="outside the folder"):
        review_input.unpack(archive, tmp_path / "unpacked")
    assert not (tmp_path / "evil.ipynb").exists()


def test_the_output_folder_is_refused_before_anything_runs(tmp_path, capsys):
    submissions = tmp_path / "submissions"
    write(teacher("03_model"), submissions / "ada.ipynb")
    before = snapshot(submissions)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.docx").write_text("mine", encoding="utf-8")
    for out in (tmp_path / "mine", submissions, submissions / "report", NOTEBOOKS):
        with pytest.raises(OutputFolderError):
            review.review(submissions, out, say=lambda line: None)
    assert snapshot(submissions) == before
    assert (tmp_path / "mine" / "thesis.docx").read_text(encoding="utf-8") == "mine"
    from mnist_helpers.cli import main

    assert main(["review", str(submissions), "--out", str(tmp_path / "mine")]) == 2
    said = capsys.readouterr().err.strip().splitlines()
    assert len(said) == 1 and said[0].startswith("error: ") and "thesis.docx" in said[0], said


def test_matching_is_by_content_not_by_name():
    course = {name: teacher(name) for name in ("03_model", "04_softmax_cross_entropy")}
    lesson4 = course["04_softmax_cross_entropy"]
    assert review_input.match(student_notebook(lesson4), course)[0] == "04_softmax_cross_entropy"
    no_ids = copy.deepcopy(course["03_model"])
    for cell in no_ids.cells:
        cell["id"] = "x" + cell["id"]
    name, score = review_input.match(no_ids, course)
    assert name == "03_model" and score > 0.9  # by its markdown text alone
    stranger = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Something else entirely")])
    assert review_input.match(stranger, course)[1] < review_input.MATCH_AT_LEAST


def test_answers_are_paired_with_the_teachers_cells():
    nb03 = teacher("03_model")
    nb = answered("03_model", {"q1": q1("1"), "q2": q2("2"), "q3": q3("3")})
    for cell in nb.cells:  # ids lost, tags kept: paired by the check cell below each answer
        cell["id"] = "new" + cell["id"]
    assert review_input.answers_of(nb, nb03) == {"q1": q1("1"), "q2": q2("2"), "q3": q3("3")}
    cells, notes = review_input.cells_to_run(nb, nb03)
    assert [c["source"] for c in cells if c["kind"] != "answer"] == [
        c.source for c in nb03.cells if c.cell_type == "code" and "solution" not in c.metadata.get("tags", [])]
    assert notes == {}
    nb.cells = [c for c in nb.cells if c.source != q3("3")]
    cells, notes = review_input.cells_to_run(nb, nb03)
    assert "..." in [c for c in cells if c["kind"] == "answer"][2]["source"] and list(notes) == ["q3"]


def test_the_restorer_puts_the_checks_back():
    from mnist_helpers.exercises import Exercise, Verdict, nb03

    namespace = {"exercises": None}
    restorer = Restorer(nb03)
    q1, check, verdict, judge = nb03.q1, nb03.q1.check, Exercise.verdict, nb03.q1.judge
    try:
        nb03.q1.check = lambda *a: print("Correct")
        nb03.q1.judge = lambda answer: "well done"
        nb03.q2 = None
        nb03.extra = "added"
        Exercise.verdict = lambda self, answer: Verdict(self.exercise, self.exercise + "/correct", "Correct")
        restorer.restore(namespace)
        assert nb03.q1 is q1 and nb03.q1.check == check and nb03.q1.judge is judge and Exercise.verdict is verdict
        assert nb03.q2 is not None and not hasattr(nb03, "extra") and namespace["exercises"] is nb03
        assert nb03.q1.verdict(lambda i, o: 0).kind == "not-yet"
    finally:
        nb03.q1.__dict__.pop("check", None)
        Exercise.verdict = verdict


def test_only_lines_with_the_token_are_results(tmp_path):
    path = tmp_path / "results.txt"
    path.write_text('abc {"event": "verdict", "id": "03.1/correct"}\nforged {"event": "verdict"}\nabc not json\n',
                    encoding="utf-8")
    assert read_results(path, "abc") == [{"event": "verdict", "id": "03.1/correct"}]


def test_learner_strings_are_escaped_and_file_names_safe():
    result = review.Result("x/<b>.ipynb", "<script>alert(1)</script>", "0", "03_model", status="reviewed",
                           rows=[{"exercise": "03.1", "verdict": "03.1/raised", "line": "Not yet: <img src=x>",
                                  "seconds": 0.1, "note": "<i>"}])
    page = index_html([result], review_catalog())
    assert "<script>alert" not in page and "<img src=x>" not in page and "&lt;script&gt;" in page
    taken: set[str] = set()
    assert file_name("../../etc/passwd", taken) == "feedback/etc_passwd.md"
    assert file_name("../../etc/passwd", taken) == "feedback/etc_passwd_2.md"
    assert category("03.1/correct") == "correct" and category("") == "not run"
    assert category("03.1/not-answered") == "not answered" and category("03.1/timed-out") == "not yet"


def review_catalog():
    from mnist_helpers.exercises import catalog

    return catalog()


@pytest.mark.slow  # a browser, on the review above
def test_the_page_in_chromium_has_every_chart_and_loads_nothing(reviewed, chromium):
    from lab_session import launched

    page_file = reviewed["out"] / "index.html"
    with launched(chromium) as browser:
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            requests = []

            def guard(route):
                requests.append(route.request.url)
                (route.continue_ if route.request.url == page_file.as_uri() else route.abort)()

            context.route("**/*", guard)
            page = context.new_page()
            errors = []
            page.on("pageerror", lambda err: errors.append(str(err)))
            page.goto(page_file.as_uri())
            assert requests == [page_file.as_uri()] and not errors
            assert page.locator("#heat-map rect.cell").count() == reviewed_cells(reviewed)
            assert page.locator("#heat-map").bounding_box()["width"] > 200
            charts = page.locator("svg.mistakes")
            with_mistakes = page.locator("table.mistakes-table").count()
            assert charts.count() == with_mistakes == 6  # 03.1-03.3 and 04.1-04.3 all had mistakes
            for index in range(charts.count()):
                assert charts.nth(index).locator("rect").count() >= 1 and charts.nth(index).is_visible()
            assert page.locator("#not-reviewed tr").count() == 1 + 5 + 2  # 5 files not reviewed, 2 stopped early
            assert page.locator("#verdicts tr").count() == 1 + reviewed_cells(reviewed)
            folder = ROOT / "artifacts" / "review"
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(folder / "review.png"), full_page=False)
        finally:
            browser.close()


@pytest.mark.slow  # two notebooks started, then Ctrl-C
def test_ctrl_c_kills_every_notebook_and_keeps_the_report(tmp_path, data_root):
    import signal

    import psutil

    forever = "import time\nwhile True:\n    time.sleep(1)\n"
    for learner in ("ada", "bob"):
        write(answered("03_model", {"q1": forever}), tmp_path / "class" / learner / "03_model.ipynb")
    review_process = subprocess.Popen(
        [sys.executable, "-m", "mnist_helpers", "review", str(tmp_path / "class"), "--out", str(tmp_path / "report"),
         "--jobs", "2", "--timeout", "600"], stderr=subprocess.PIPE, text=True, encoding="utf-8",
        env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        deadline = time.monotonic() + 60
        while len(children := psutil.Process(review_process.pid).children(recursive=True)) < 2:
            assert time.monotonic() < deadline, "the two notebooks did not start"
            time.sleep(0.5)
        time.sleep(3)  # well inside their endless loops
        review_process.send_signal(signal.SIGINT)
        assert review_process.wait(timeout=30) == 130
    finally:
        review_process.kill()
    assert "interrupted (Ctrl-C): 0 of 2 notebooks reviewed" in review_process.stderr.read()
    gone, alive = psutil.wait_procs(children, timeout=5)
    assert not alive
    assert json.loads((tmp_path / "report" / review.STATE).read_text(encoding="utf-8")) == []


def test_a_symbolic_link_is_not_followed(tmp_path):
    (tmp_path / "secret.txt").write_text("the teacher's", encoding="utf-8")
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "ada.ipynb").symlink_to(tmp_path / "secret.txt")
    [found] = review_input.collect(tmp_path / "class")
    assert found.reason == "a symbolic link (not followed)" and found.sha256 == ""
