"""Every notebook of the series, as a learner opens it, run in JupyterLab in a real browser (Chromium, Playwright).

For each notebook: its student edition (built by the project's builder) with small parameters
(injected by papermill, as a teacher's dry run does), opened in JupyterLab, its outputs cleared,
Run > Run All Cells, then what the page shows is checked: every code cell ran, in order; nothing
raised or wrote to stderr; every figure the committed notebook shows rendered as an image; each
training showed its live progress bar, run to the end; each drawing pad shows the guess the
notebook prints for the same drawing; every exercise check says it is not answered yet; and the
numbers printed are those of the small run (``check_small_run``). That the committed outputs
themselves reproduce, at full size, is nbval's part of the same pytest command (notebooks/).
A failure names the notebook and the cell, and leaves a screenshot in artifacts/browser/.
"""

import contextlib
import re
from pathlib import Path

import nbformat
import papermill
import pytest
from exercise_tables import names_of
from lab_session import (
    ARTIFACTS,
    ROOT,
    find_chromium,
    printed,
    run_notebook,
    screenshot,
    wait_for_new_output,
)
from small_runs import OVERRIDES, check_small_run

from mnist_helpers.course.outputs import cell_stdout

NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SMALL = {Path(name).stem: overrides for name, overrides in OVERRIDES.items()}
# The drawing pads' guesses, as the notebook prints them for the same drawing ("prepared").
PAD_READINGS = {
    "06_test": lambda text: re.findall(r"(?m)^prepared: +read as (\d)$", text),
    "09_convolutions": lambda text: re.findall(r"(?m)^CNN +(\d) +\d$", text),  # pad.show() is a figure, not a pad
}
pytestmark = pytest.mark.slow  # a browser, a JupyterLab and the series


@pytest.fixture(scope="module")
def student_edition(lab) -> Path:
    """The student edition, built by the project's own builder into the JupyterLab's folder."""
    from mnist_helpers.course.student import build

    build(lab.root / "student")
    return lab.root / "student"


def small_run(lab, student_edition: Path, name: str, data_root: Path) -> tuple[str, Path]:
    """The student notebook ``name`` with its small parameters injected by papermill: (folder, models folder)."""
    if name not in SMALL:
        pytest.fail(f"{name} has no small parameters: add them to OVERRIDES in tests/small_runs.py")
    folder = lab.root / "student-small"
    models = folder / "models"
    folder.mkdir(exist_ok=True)
    parameters = dict(SMALL[name])
    if name in ("01_explore", "06_test"):  # the two that hand the folder to torchvision themselves
        parameters["data_root"] = str(data_root)
    if name == "07_save_load":
        parameters["models_dir"] = str(models)
    papermill.execute_notebook(student_edition / f"{name}.ipynb", folder / f"{name}.ipynb", parameters=parameters,
                               prepare_only=True, kernel_name="python3", progress_bar=False)
    return folder.name, models


def figures(cell) -> int:
    return sum("image/png" in o.get("data", {}) for o in cell.get("outputs", []))


class Problems(AssertionError):
    """What ``problems`` found, one line (or paragraph) each."""

    def __init__(self, found: list[str]):
        super().__init__("\n".join(found))
        self.found = found


def problems(name: str, shown: list[dict], opened: list, committed: list) -> list[str]:
    """Everything that is not as it should be, naming the notebook and the cell.

    ``shown``: each cell as JupyterLab shows it after the run; ``opened``: the cells of the file that was
    opened; ``committed``: the committed notebook's cells, the same ones without papermill's injected
    parameters (their outputs say how many figures and trainings each cell shows).
    """
    ours = [cell for cell in opened if "injected-parameters" not in cell.metadata.get("tags", [])]
    if len(shown) != len(opened) or [c.cell_type for c in ours] != [c.cell_type for c in committed]:
        return [f"{name}: JupyterLab shows {len(shown)} cells and the file has {len(opened)}, {len(ours)} of them "
                f"the committed notebook's, which has {len(committed)}: the editions do not match"]
    by_cell = iter(committed)
    found, count = [], 0
    for index, (cell, original) in enumerate(zip(shown, opened, strict=True)):
        reference = None if "injected-parameters" in original.metadata.get("tags", []) else next(by_cell)
        if original.cell_type != "code":
            continue
        count += 1
        where = f"{name}, cell {index} ({cell['source'][:60]!r})"
        if cell["stderr"]:
            found.append(f"{where} raised or wrote to stderr:\n{cell['stderr'][-2000:]}")
        if cell["prompt"].strip() != f"[{count}]:":
            found.append(f"{where}: shows {cell['prompt'].strip()!r}, expected [{count}]: (every cell run, in order)")
            continue
        # A drawing pad is a figure in the committed notebook (run headless) and live here.
        expected = figures(reference) - len(cell["pads"]) if reference is not None else 0
        if len(cell["images"]) != expected or not all(cell["images"]):
            found.append(f"{where}: {sum(cell['images'])} figures rendered, the committed notebook has {expected}")
        # Each training prints its epochs from "Epoch [0]," on; how many trainings a cell runs can depend on
        # the parameters (09's last epoch at a smaller rate is a second one), whether it trains cannot.
        trainings = cell["stdout"].count("Epoch [0],")
        trains = reference is not None and "Epoch [0]," in cell_stdout(reference)
        if (len(cell["bars"]) != trainings or (trainings > 0) != trains
                or not all(value == maximum > 0 for value, maximum in cell["bars"])):
            found.append(f"{where}: live progress bars {cell['bars']} (value, max) for {trainings} trainings; "
                         f"the committed notebook {'trains' if trains else 'does not train'} here")
        if "check" in original.metadata.get("tags", []) and not cell["stdout"].startswith("Not answered yet"):
            found.append(f"{where}: the check of an unanswered exercise says {cell['stdout'][:200]!r}")
    return found


def run_and_check(page, lab, name: str, opened: list, committed: list, folder: str = "notebooks", then=None):
    """Run the notebook in JupyterLab, check it (``problems``, then ``then(shown)`` if given) with its kernel
    still running; a failure leaves a full-height screenshot in artifacts/browser/."""
    try:
        shown = run_notebook(page, lab, name, folder=folder)
        found = problems(name, shown, opened, committed)
        if found:
            raise Problems(found)
        if then:
            then(shown)
    except Exception:
        with contextlib.suppress(Exception):  # a picture of a failure helps; its absence must not hide the failure
            screenshot(page, ARTIFACTS / f"{name}.png")
        raise
    finally:
        lab.shut_down_kernels()


def picture_of_training(page) -> None:
    """artifacts/browser/jupyterlab-05_train.png: a live progress bar and the curves, as a learner sees them."""
    page.set_viewport_size({"width": 1280, "height": 1150})
    page.locator(".mnist-progress").last.evaluate("bar => bar.closest('.jp-Cell').scrollIntoView({block: 'start'})")
    page.wait_for_timeout(500)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "jupyterlab-05_train.png"))
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_student_edition_runs_in_jupyterlab(lab, page, student_edition, data_root, name):
    folder, models = small_run(lab, student_edition, name, data_root)
    opened = nbformat.read(lab.root / folder / f"{name}.ipynb", as_version=4).cells
    committed = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4).cells
    assert sum("check" in c.metadata.get("tags", []) for c in opened) >= 3, f"{name}: fewer than 3 exercise checks"

    def numbers_and_pads(shown: list[dict]) -> None:
        text = "".join(cell["stdout"] for cell in shown)
        pads = [guess for cell in shown for guess in cell["pads"]]
        readings = PAD_READINGS.get(name, lambda text: [])(text)
        assert pads == readings and (name not in PAD_READINGS or pads), (
            f"{name}: the live pads guess {pads}, the notebook prints {readings} for the same drawing")
        check_small_run(f"{name}.ipynb", text, models)
        if name == "05_train":
            picture_of_training(page)

    run_and_check(page, lab, name, opened, committed, folder, then=numbers_and_pads)


def test_a_failing_cell_is_named(lab, page):
    """The checks above can fail: each problem is reported, naming the notebook and the cell, with a picture."""
    injected = nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["injected-parameters"]})
    check = nbformat.v4.new_code_cell("print('Correct: an answer where none was expected')",
                                      metadata={"tags": ["check"]})
    committed = [nbformat.v4.new_code_cell("print('before')"), check, nbformat.v4.new_code_cell("1 / 0"),
                 nbformat.v4.new_code_cell("print('after')")]
    opened = [committed[0], injected, *committed[1:]]
    metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    nbformat.write(nbformat.v4.new_notebook(cells=opened, metadata=metadata),
                   lab.root / "notebooks" / "99_broken.ipynb")
    (ARTIFACTS / "99_broken.png").unlink(missing_ok=True)
    with pytest.raises(Problems) as failure:
        run_and_check(page, lab, "99_broken", opened, committed)
    found = failure.value.found
    assert len(found) == 3, found
    assert found[0].startswith("99_broken, cell 2 (\"print('Correct: an answer where none was expected')\"): the "
                               "check of an unanswered exercise says 'Correct: an answer where none was expected")
    assert found[1].startswith("99_broken, cell 3 ('1 / 0') raised") and "ZeroDivisionError" in found[1]
    assert found[2].startswith("99_broken, cell 4 (\"print('after')\"): shows '[ ]:', expected [5]:")
    assert (ARTIFACTS / "99_broken.png").is_file()  # the failure's picture
    shown = [{}] * len(opened)  # a student edition out of step with the course is named before any cell is read
    assert problems("99_broken", shown, opened, committed[:-1]) == [
        "99_broken: JupyterLab shows 5 cells and the file has 5, 4 of them the committed notebook's, which has 3: "
        "the editions do not match"]


ANSWER = "def count_parameters(inputs, outputs):\n    return inputs * outputs + outputs\n"


def test_a_learner_answers_an_exercise_in_the_student_edition(lab, page):
    """The path a learner takes: open a student notebook, run it, type an answer, run it and its check: Correct."""
    from mnist_helpers.course.student import build

    build(lab.root / "class")  # its own edition: this one is typed into (and autosaved)
    try:
        cells = run_notebook(page, lab, "03_model", folder="class")
        checks = [c["stdout"] for c in cells if c["source"].startswith("exercises.q")]
        assert len(checks) == len(names_of("nb03")), checks
        assert all(c.startswith("Not answered yet") for c in checks), checks
        notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
        exercise = notebook.locator(".jp-CodeCell").filter(has_text="def count_parameters").first
        check = notebook.locator(".jp-CodeCell").filter(has_text="exercises.q1.check(count_parameters)").first
        before = printed(check)
        assert before.startswith("Not answered yet"), before
        exercise.locator(".cm-content").click()
        page.keyboard.press("Control+A")
        page.keyboard.insert_text(ANSWER)  # as typed, without the editor's auto-indent
        page.keyboard.press("Shift+Enter")  # run the answer; the check cell below is selected
        page.keyboard.press("Shift+Enter")  # run the check
        verdict = wait_for_new_output(page, check, before, 60, "the check to answer")
        assert verdict.startswith("Correct: weights (inputs x outputs) plus one bias per output."), verdict
    except Exception:
        with contextlib.suppress(Exception):
            screenshot(page, ARTIFACTS / "student-03_model.png")
        raise
    finally:
        lab.shut_down_kernels()


def test_browser_search_order(monkeypatch, tmp_path):
    """$MNIST_CHROMIUM first, then a browser on the PATH (not Ubuntu's snap stub), else None."""

    fake = tmp_path / "bin"
    fake.mkdir()
    stub = fake / "chromium-browser"
    stub.write_text("#!/bin/sh\necho 'Please install it with: snap install chromium'\n", encoding="utf-8")
    stub.chmod(0o755)
    real = fake / "google-chrome"
    real.write_text("#!/bin/sh\nexec true\n", encoding="utf-8")
    real.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake))
    monkeypatch.delenv("MNIST_CHROMIUM", raising=False)
    assert find_chromium() == real  # the snap stub is passed over
    real.unlink()
    monkeypatch.setattr("playwright.sync_api.sync_playwright", lambda: (_ for _ in ()).throw(RuntimeError("no driver")))
    assert find_chromium() is None
    monkeypatch.setenv("MNIST_CHROMIUM", str(stub))
    assert find_chromium() == stub
    monkeypatch.setenv("MNIST_CHROMIUM", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="MNIST_CHROMIUM"):
        find_chromium()
